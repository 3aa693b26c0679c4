"""The first document checklist, which the migration seeds (BPKAD changes it in the admin afterwards):
(origin or "" for every origin, from certificate stage or "" for any, document type, note)."""

from __future__ import annotations

from typing import Any

DEFAULT_CHECKLIST: tuple[tuple[str, str, str, str], ...] = (
    ("", "", "FOTO_LAPANGAN", "Every asset: a field photo"),
    ("", "", "SK_PENETAPAN_STATUS", "Every asset: the decree assigning its use to the agency"),
    ("PEMBELIAN", "", "AKTA_PEMBELIAN", "Purchase: the deed or receipt"),
    ("HIBAH", "", "SK_HIBAH", "Grant: the grant decree or deed"),
    ("HIBAH", "", "BAST", "Grant: the handover record"),
    ("PENYERAHAN_PSU", "", "BAST", "PSU handover: the handover record"),
    ("TUKAR_MENUKAR", "", "BERITA_ACARA", "Exchange: the exchange record"),
    ("PUTUSAN_PENGADILAN", "", "LAINNYA", "Court decision: the decision"),
    ("", "PETA_BIDANG_TERBIT", "PETA_BIDANG", "Parcel map issued: the parcel map"),
    ("", "SERTIFIKAT_TERBIT", "SERTIFIKAT", "Certificate issued: its scan"),
    ("", "SERTIFIKAT_TERBIT", "SURAT_UKUR", "Certificate issued: the survey certificate"),
)


def seed(model: Any, using: str = "default") -> None:
    """Create the default lines that are missing (``model``: DocumentRequirement, or the migration's historical one)."""
    for asal_usul, from_stage, doc_type, note in DEFAULT_CHECKLIST:
        model.objects.using(using).get_or_create(
            asal_usul=asal_usul, from_stage=from_stage, doc_type=doc_type, defaults={"note": note}
        )


def is_default(rows: list[tuple[str, str, str, bool, str]]) -> bool:
    """Whether (asal_usul, from_stage, doc_type, active, note) rows are the seeded checklist, unchanged: a database
    holding only that has no data of its own (what a restore would replace, assets.ops.backup)."""
    seeded = {(a, s, t, True, n) for a, s, t, n in DEFAULT_CHECKLIST}
    return len(rows) == len(seeded) and set(rows) == seeded
