"""The KIB A card: one printable A4 page per asset (its 14 columns, certificates, map, documents checklist, QR code
and signatures), at /assets/<id>/card.pdf."""
