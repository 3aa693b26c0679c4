"""Coordinate reference systems on import: none declared, swapped axes, custom and bad WKT, every accepted EPSG code."""

from __future__ import annotations

import json
from pathlib import Path

from osgeo import osr

from assets.models import LandAsset
from assets.register import place
from assets.transfer.importing.run import run_import
from tests.factories import import_messages as _messages
from tests.factories import point_inside
from tests.transfer.import_case import ImportTestCase, _srs


class CrsTests(ImportTestCase):
    def write_csv(self, text: str) -> Path:
        path = self.tmp / "parcels.csv"
        path.write_text(text, encoding="utf-8")
        return path

    HEADER = "wkt,kode_barang,no_reg,nama_barang,opd,tahun,asal_usul,nilai,luas\n"

    def row(self, wkt: str, register: str = "1") -> str:
        return f'"{wkt}",1.3.1.01.01.01.001,{register},Tanah,1.01.01,2010,HIBAH,0,100\n'

    def test_no_crs_refused_with_balikpapan_hint_then_accepted_with_srid(self):
        wkt = "POLYGON((352137 1359873,352187 1359873,352187 1359923,352137 1359923,352137 1359873))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        report = run_import(path)
        self.assertIn("declares no coordinate reference system", report.errors[0].message)
        self.assertIn("EPSG:23837", report.errors[0].message)
        self.assertIn("EPSG:32750", report.errors[0].message)
        report = run_import(path, srid="EPSG:23837")
        self.assertTrue(report.committed, _messages(report))
        self.assertIsNotNone(LandAsset.objects.get().kelurahan_id)

    def test_swapped_lat_lon_is_named(self):
        lon, lat = point_inside("64.71.05.1002")
        wkt = f"POLYGON(({lat} {lon},{lat} {lon + 0.001},{lat + 0.001} {lon + 0.001},{lat} {lon}))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        report = run_import(path, srid="4326")
        self.assertIn("Latitude and longitude are swapped", report.errors[0].message)
        self.assertIn("fall in Kota Balikpapan only when swapped", report.errors[0].message)

    def test_lon_lat_declared_as_tm3_is_refused_naming_lon_lat(self):
        lon, lat = point_inside("64.71.05.1002")
        path = self.tmp / "parcels.geojson"
        path.write_text(self.geojson_square(lon, lat, "urn:ogc:def:crs:EPSG::23837"), encoding="utf-8")
        report = run_import(path)
        self.assertFalse(report.ok)
        self.assertIn("Read as EPSG:23837 the coordinates land at longitude", report.errors[0].message)
        self.assertIn("outside Indonesia", report.errors[0].message)
        self.assertIn("Read as longitude/latitude (EPSG:4326) they lie in Kota Balikpapan", report.errors[0].message)
        self.assertTrue(run_import(path, srid="4326").committed)  # named as it really is, it goes in

    def test_an_unknown_declared_crs_is_refused_not_read_as_lon_lat(self):
        lon, lat = point_inside("64.71.05.1002")
        path = self.tmp / "parcels.geojson"
        path.write_text(self.geojson_square(lon, lat, "urn:ogc:def:crs:EPSG::999999"), encoding="utf-8")
        report = run_import(path)
        self.assertFalse(report.ok)
        self.assertIn("declares a coordinate reference system PROJ does not know", report.errors[0].message)
        self.assertEqual(LandAsset.objects.count(), 0)
        report = run_import(path, srid="4326")
        self.assertTrue(report.committed, _messages(report))
        self.assertIn("PROJ does not know", " ".join(report.warnings))

    @staticmethod
    def geojson_square(lon: float, lat: float, crs: str) -> str:
        ring = [[lon, lat], [lon + 0.0005, lat], [lon + 0.0005, lat + 0.0005], [lon, lat]]
        properties = {"kode_barang": "1.3.1.01.01.01.001", "no_reg": "1", "nama_barang": "Tanah", "opd": "1.01.01",
                      "tahun": 2010, "asal_usul": "HIBAH", "nilai": 0, "luas": 100}  # fmt: skip
        return json.dumps({
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": crs}},
            "features": [{"type": "Feature", "properties": properties,
                          "geometry": {"type": "Polygon", "coordinates": [ring]}}],
        })  # fmt: skip

    def test_custom_wkt_and_bad_wkt(self):
        from pyproj import CRS

        custom = CRS.from_epsg(23837).to_wkt()
        wkt = "POLYGON((352137 1359873,352187 1359873,352187 1359923,352137 1359923,352137 1359873))"
        path = self.write_csv(self.HEADER + self.row(wkt))
        prj = self.tmp / "custom.prj"
        prj.write_text(custom, encoding="utf-8")
        self.assertTrue(run_import(path, srid=str(prj), dry_run=True).ok)
        report = run_import(path, srid='PROJCS["broken",GEOGCS[')
        self.assertIn("not a coordinate reference system pyproj knows", report.errors[0].message)

    def test_accepted_epsg_codes_transform(self):
        lon, lat = point_inside("64.71.04.1001")
        for epsg in place.city().accepted_epsg:
            transformer = osr.CoordinateTransformation(_srs(4326), _srs(epsg))
            x0, y0, _z = transformer.TransformPoint(lon, lat)
            x1, y1, _z = transformer.TransformPoint(lon + 0.0005, lat + 0.0005)
            wkt = f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"
            path = self.write_csv(self.HEADER + self.row(wkt, register=str(epsg)))
            report = run_import(path, srid=str(epsg))
            self.assertTrue(report.committed, f"EPSG:{epsg}: {_messages(report)}")
        kelurahan = set(LandAsset.objects.values_list("kelurahan__code", flat=True))
        self.assertEqual(kelurahan, {"64.71.04.1001"})

    def test_point_is_refused_as_a_parcel(self):
        path = self.write_csv("lon,lat,kode_barang,no_reg,nama_barang,opd,tahun,asal_usul,nilai,luas\n"
                              "116.85,-1.25,1.3.1.01.01.01.001,1,Tanah,1.01.01,2010,HIBAH,0,100\n")  # fmt: skip
        report = run_import(path, srid="4326")
        self.assertIn("1:geom:A point (116.850000, -1.250000) is not a parcel", _messages(report))
