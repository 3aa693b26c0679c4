"""An import that gives an asset with an open case its first certificate keeps the asset's dispute flag."""

from __future__ import annotations

import json

from assets.encumbrance import services
from assets.encumbrance.models import CaseKind
from assets.models import LandAsset
from assets.transfer.importing.run import run_import
from tests.factories import import_messages, make_asset
from tests.transfer.import_case import ImportTestCase


class ImportKeepsTheCaseFlagTests(ImportTestCase):
    def test_first_certificate_by_import(self):
        asset = make_asset(agency=self.agency, nomor_register="7")
        services.case_open(user=None, assets=[asset], kind=CaseKind.KLAIM, title="Klaim ahli waris")
        self.assertTrue(LandAsset.objects.get(pk=asset.pk).bermasalah)
        feature = {
            "type": "Feature", "geometry": None,
            "properties": {
                "kode_barang": asset.kode_barang, "no_register": "7", "nama_barang": asset.nama_barang,
                "opd": self.agency.code, "tahun_perolehan": 2010, "asal_usul": "Pembelian", "harga": "1.250.000.000",
                "luas": "1200", "hak": "Hak Pakai", "no_sertifikat": "00123", "tgl_sertifikat": "02/03/2015",
            },
        }  # fmt: skip
        path = self.tmp / "in.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
        report = run_import(path)
        self.assertTrue(report.committed, import_messages(report))
        asset.refresh_from_db()
        self.assertEqual((asset.status_sertifikat, asset.certificates.count()), ("terbit", 1))
        self.assertTrue(asset.bermasalah)  # the open case still counts
