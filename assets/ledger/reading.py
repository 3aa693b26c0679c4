"""The official KIB A export read by the importer's own readers (every format and printed layout it knows), into
plain rows for a reconciliation snapshot: nothing is checked against, or written to, the register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from assets.transfer.importing.geometry import GeometryPlan
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping, title_agency
from assets.transfer.importing.reader import Reader
from assets.transfer.importing.report import ImportFileError, ImportReport
from assets.transfer.importing.sandbox import FileSource, apply_report

MAX_LISTED_PROBLEMS = 500


@dataclass
class Snapshot:
    rows: list[dict[str, Any]] = field(default_factory=list)  # OfficialRow fields (none kept when streamed)
    report: ImportReport = field(default_factory=ImportReport)
    count: int = 0  # the rows read

    def summary(self) -> dict[str, Any]:
        """What the run keeps of the reading: format, layout, warnings, the rows it could not read."""
        return {
            "format": self.report.format,
            "layout": self.report.layout,
            "mapping": self.report.mapping,
            "warnings": self.report.warnings[:MAX_LISTED_PROBLEMS],
            "errors": [
                {
                    "where": self.report.place(i.feature) if i.feature else _("File"),
                    "field": i.field,
                    "message": i.message,
                }
                for i in self.report.errors[:MAX_LISTED_PROBLEMS]
            ],  # fmt: skip
            "error_count": self.report.error_count,
        }


Sink = Callable[[list[dict[str, Any]]], None]


def read_snapshot(path: Path, *, name: str = "", mapping: FieldMapping | None = None, sink: Sink | None = None
                  ) -> Snapshot:  # fmt: skip
    """Every readable row of the file; a row the importer refuses is reported (by its row) and left out. A file
    refused as a whole raises ImportFileError. With ``sink`` the rows go to it batch by batch (the reader's
    batches) and are not kept: memory stays flat whatever the file's length."""
    snapshot = Snapshot(report=ImportReport(dry_run=True, source=name or path.name))
    report = snapshot.report
    mapping = mapping or FieldMapping()
    with FileSource(path, layer=None, srid=None, mapping=mapping, limits=ImportLimits.from_settings()) as source:
        header = source.header
        assert header is not None  # noqa: S101 - set on entering
        apply_report(report, header.report)
        report.source = name or path.name
        if header.title is not None:
            mapping = title_agency(header.title, mapping, header.columns, report)
        plan = mapping.resolve(header.columns, report)
        used = sorted({where for where in plan.values() if isinstance(where, int)})
        reader = Reader(plan, mapping, user=None, report=report)
        for batch in source.rows(used, GeometryPlan(None, repair=False)):
            read = []
            for raw in batch:
                row = reader.read(raw)
                report.features += 1
                if row is not None:
                    read.append(_official(row.number, row.asset_fields, row.certificate))
            snapshot.count += len(read)
            if sink is not None:
                sink(read)
            else:
                snapshot.rows += read
        apply_report(report, source.final)
    if report.features == 0:
        raise ImportFileError(_("The file holds no row."))
    return snapshot


def _official(number: int, fields: dict[str, Any], certificate: dict[str, Any] | None) -> dict[str, Any]:
    cert = certificate or {}
    return {
        "number": number,
        "nibar": fields.get("nibar") or "",
        "kode_barang": fields["kode_barang"],
        "nomor_register": str(fields["nomor_register"]).zfill(4),
        "nama_barang": fields.get("nama_barang") or "",
        "alamat": fields.get("alamat") or "",
        "agency_id": fields.get("agency_id"),
        "tahun_perolehan": fields.get("tahun_perolehan"),
        "tanggal_perolehan": fields.get("tanggal_perolehan"),
        "nilai_perolehan": fields.get("nilai_perolehan"),
        "luas_kib_m2": fields.get("luas_kib_m2"),
        "asal_usul": fields.get("asal_usul") or "",
        "penggunaan": fields.get("penggunaan") or "",
        "jenis_hak": cert.get("jenis_hak") or "",
        "nomor_sertifikat": cert.get("nomor") or "",
        "tanggal_sertifikat": cert.get("tanggal"),
    }
