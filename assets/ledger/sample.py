"""An official KIB A export made from Sipanah's own register, with realistic differences: the demo's sample for a
first reconciliation run, and the bench's input. Deterministic for a seed."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from assets.register.models import Agency, Certificate, LandAsset

HEADER = [
    "NIBAR",
    "Kode Barang",
    "Nomor Register",
    "Nama Barang",
    "Letak / Alamat",
    "Kode OPD",
    "Tahun Pengadaan",
    "Asal Usul",
    "Harga (Rp)",
    "Luas (M2)",
    "Status Tanah: Hak",
    "Sertifikat Nomor",
    "Sertifikat Tanggal",
]


@dataclass
class SampleCounts:
    rows: int = 0
    missing: int = 0  # assets left out (only in Sipanah)
    extra: int = 0  # rows Sipanah lacks (only in the official register)
    changed: int = 0  # rows with one field changed (matched with differences)
    renumbered: int = 0  # rows with another register number and no NIBAR (likely pairs)


def official_export(
    path: Path,
    *,
    differences: float = 0.05,
    missing: float = 0.01,
    extra: float = 0.01,
    renumbered: float = 0.005,
    seed: int = 1,
) -> SampleCounts:
    """Write the live register as SIMDA BMD would export it (CSV, its column names), changed here and there."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    counts = SampleCounts()
    codes = dict(Agency.objects.values_list("pk", "code"))
    certificates: dict[int, tuple[str, str, str]] = {}
    for asset_id, hak, nomor, tanggal in Certificate.objects.order_by("-id").values_list(
        "asset_id", "jenis_hak", "nomor", "tanggal"
    ):
        certificates[asset_id] = (hak, nomor, tanggal.isoformat() if tanggal else "")
    columns = (
        "pk",
        "nibar",
        "kode_barang",
        "nomor_register",
        "nama_barang",
        "alamat",
        "agency_id",
        "tahun_perolehan",
        "asal_usul",
        "nilai_perolehan",
        "luas_kib_m2",
    )
    rows = LandAsset.objects.filter(removed_at__isnull=True).order_by("pk").values_list(*columns)
    agency_codes = sorted(codes.values())
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for pk, nibar, kode, reg, nama, alamat, agency, tahun, asal, nilai, luas in rows.iterator(chunk_size=5000):
            hak, nomor, tanggal = certificates.get(pk, ("", "", ""))
            draw = rng.random()
            if draw < missing:
                counts.missing += 1
                continue
            code = codes[agency]
            if draw < missing + renumbered:
                nibar, reg = "", f"9{int(reg):05d}"[-6:]
                counts.renumbered += 1
            elif draw < missing + renumbered + differences:
                counts.changed += 1
                what = rng.choice(["nilai", "luas", "tahun", "nomor", "alamat", "agency", "hak"])
                if what == "nilai":
                    nilai = (nilai * Decimal("1.1")).quantize(Decimal(1))
                elif what == "luas":
                    luas = (luas * Decimal("0.95")).quantize(Decimal("0.01"))
                elif what == "tahun":
                    tahun -= 1
                elif what == "nomor":
                    nomor = f"{nomor or '000'}1"
                elif what == "alamat":
                    alamat = f"{alamat} RT 05".strip()
                elif what == "agency":
                    code = rng.choice([c for c in agency_codes if c != code])
                else:
                    hak = "HPL" if hak != "HPL" else "HP"
            out.writerow([nibar or "", kode, reg, nama, alamat, code, tahun, asal, nilai, luas, hak, nomor, tanggal])
            counts.rows += 1
            if rng.random() < extra:
                out.writerow(
                    ["", kode, f"8{counts.extra:05d}", nama, alamat, code, tahun, asal, nilai, luas, "", "", ""]
                )
                counts.extra += 1
                counts.rows += 1
    return counts
