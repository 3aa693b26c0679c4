"""The colours of the certificate statuses, the one source for every map, chart and page.

The same constant reaches the browser as CSS custom properties (``css_custom_properties``, written into every page's
head by base.html: the map's parcel styles in js/sipanah-map.js, the status bars and stat cards of sipanah.css read
them), the map legend (assets.maps.builders) and the SVG charts and choropleths drawn on the server
(assets.audit.svg). The status colours are ColorBrewer's RdYlGn ends and middle, so the choropleth of the share
certified runs from the "not certified" red to the "certified" green through the same scale.
"""

from __future__ import annotations

from assets.register.models import CertificateStatus

STATUS_COLOURS: dict[str, str] = {
    CertificateStatus.BELUM: "#d73027",
    CertificateStatus.PROSES: "#f39c12",
    CertificateStatus.TERBIT: "#1a9850",
}
DISPUTE_COLOUR = "#5e3c99"
NO_DATA_COLOUR = "#e5e8ec"

# Classes of the share certified (upper bound, fill), low to high: RdYlGn with the status colours at its ends,
# finer around one half, where a city's kecamatan usually lie and where "more than half certified" is read.
SHARE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.2, STATUS_COLOURS[CertificateStatus.BELUM]),
    (0.4, "#fc8d59"),
    (0.5, "#fee08b"),
    (0.6, "#d9ef8b"),
    (0.8, "#91cf60"),
    (1.0, STATUS_COLOURS[CertificateStatus.TERBIT]),
)


def share_colour(share: float | None) -> str:
    """The class fill of a share certified between 0 and 1 (no data: None)."""
    if share is None:
        return NO_DATA_COLOUR
    for upper, colour in SHARE_CLASSES:
        if share < upper:
            return colour
    return SHARE_CLASSES[-1][1]


def css_custom_properties() -> str:
    """``:root { --c-status-belum: …; … }``: the palette for stylesheets and scripts (read with var() or
    getComputedStyle)."""
    pairs = [(f"--c-status-{status}", colour) for status, colour in STATUS_COLOURS.items()]
    pairs += [("--c-status-dispute", DISPUTE_COLOUR), ("--c-no-data", NO_DATA_COLOUR)]
    pairs += [(f"--c-share-{i}", colour) for i, (_upper, colour) in enumerate(SHARE_CLASSES)]
    return ":root{" + "".join(f"{name}:{colour};" for name, colour in pairs) + "}"
