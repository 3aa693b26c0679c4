"""Backup and restore (assets/backup.py, ``manage.py backup`` / ``restore``).

A register with everything in it (geometry, certificates, stage events, history rows, a removed asset, an import
job with its file, users, groups, permissions, an API token, a session, django-axes and admin log rows) is backed
up and restored into a new, migrated SpatiaLite file (on the PostGIS run: the move across engines), that database
is backed up and restored with --force over the changed original (on the PostGIS run: the way back), and each time
every table is compared row for row (primary keys, every column, geometry as EWKB bytes), the derived tile cells
recounted alike, the media files byte for byte. Then damaged, tampered and incompatible archives: each is refused
with a message naming the problem, and the database and MEDIA_ROOT are left unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import Client, TestCase, TransactionTestCase, override_settings
from rest_framework.authtoken.models import Token

from assets.models import AdministrativeArea, Agency, Certificate, ImportJob, JenisHak, LandAsset, Stage
from assets.ops.backup.archive import MANIFEST, SIGNATURE, backed_up_models, derived_models, key_id, signature
from assets.ops.backup.dump import create_backup
from assets.ops.backup.restore import existing_data
from assets.register import permissions, services
from tests.factories import load_reference, make_asset, make_user, point_inside, square

GEOM = [f.attname for f in LandAsset._meta.concrete_fields].index("geom")
FILE_BYTES = b'{"type": "FeatureCollection", "features": []}\n\x00\xff binary tail'


def odd_parcel(lon: float, lat: float) -> MultiPolygon:
    """Two polygons with coordinates that need all 17 significant digits (WKT with fewer would round them)."""
    a = Polygon(
        (
            (lon, lat),
            (lon + 0.000731234567891234, lat + 0.0000123456789012345),
            (lon + 0.000412345678901234, lat + 0.000598765432109876),
            (lon, lat),
        )
    )
    b = Polygon(
        (
            (lon + 0.002, lat),
            (lon + 0.0026180339887498949, lat),
            (lon + 0.0026180339887498949, lat + 0.00031415926535897932),
            (lon + 0.002, lat),
        )
    )
    return MultiPolygon(a, b, srid=4326)


def build_register(media_root: Path) -> None:
    load_reference()
    agencies = list(Agency.objects.order_by("code")[:2])
    officer = make_user("officer", permissions.OFFICER, agency=agencies[0])
    admin = make_user("admin", permissions.ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    Token.objects.create(user=admin)
    team = Group.objects.create(name="Tim sertifikasi")
    team.permissions.add(Permission.objects.get(codename="view_landasset"))
    officer.groups.add(team)
    officer.user_permissions.add(Permission.objects.get(codename="export_landasset"))

    kelurahan = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN).order_by("code").first()
    lon, lat = point_inside(kelurahan.code)
    located = make_asset(agency=agencies[0], geom=odd_parcel(lon, lat), nama_barang="Tanah SD Negeri 1")
    services.asset_update(asset=located, user=officer, data={"alamat": "Jl. Jend. Sudirman No. 1"})
    services.asset_update(asset=located, user=officer, data={}, geom=square(lon + 0.01, lat + 0.01))
    certificate = services.certificate_create(asset=located, user=officer, tanggal_tahap=dt.date(2024, 1, 10))
    services.certificate_change_stage(
        certificate=certificate, user=officer, to_stage=Stage.PERSIAPAN_BERKAS, tanggal_tahap=dt.date(2024, 3, 1)
    )
    services.certificate_change_stage(
        certificate=certificate,
        user=officer,
        to_stage=Stage.DIAJUKAN_KE_BPN,
        tanggal_tahap=dt.date(2024, 4, 2),
        nomor_dokumen="BPN/123",
        catatan="berkas lengkap",
    )
    issued = make_asset(agency=agencies[1], geom=square(lon - 0.01, lat - 0.01), nama_barang="Tanah Puskesmas")
    issued_cert = services.certificate_create(asset=issued, user=None)
    issued_cert.jenis_hak, issued_cert.nomor, issued_cert.tanggal = JenisHak.HP, "00042", dt.date(2020, 1, 2)
    issued_cert.save()
    make_asset(agency=agencies[1], geom=None, nama_barang="Tanah tanpa lokasi", nibar="NIBAR-000077")
    removed = make_asset(agency=agencies[0], geom=square(lon + 0.02, lat), nama_barang="Tanah dihapus")
    services.asset_remove(asset=removed, user=admin, sk_nomor="SK-9/2024", tanggal=dt.date(2024, 6, 30))

    with override_settings(MEDIA_ROOT=str(media_root)):
        job = ImportJob(user=officer, original_name="parcels.geojson", report={"errors": [], "note": None})
        job.file.save("parcels.geojson", ContentFile(FILE_BYTES), save=True)
    (media_root / "imports" / "nested" / "deeper").mkdir(parents=True)
    (media_root / "imports" / "nested" / "deeper" / "note.txt").write_text("ẞ ünïcode ✓", encoding="utf-8")
    (media_root / "worker.heartbeat").write_text("123.0 1\n")  # a running worker's, not data
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(LandAsset),
        object_id=str(located.pk),
        object_repr=str(located),
        action_flag=ADDITION,
        change_message="[]",
    )
    Client().post("/accounts/login/", {"username": "officer", "password": "pw-officer"})  # a session, axes' log
    Client().post("/accounts/login/", {"username": "officer", "password": "wrong"})  # a failed attempt


def snapshot(using: str = "default") -> dict[str, list[tuple]]:
    """Every row of every table, in key order; geometry as its EWKB bytes (bit for bit)."""
    tables = {}
    for model in backed_up_models():
        fields = model._meta.concrete_fields
        rows = model._base_manager.using(using).order_by("pk").values_list(*[f.attname for f in fields])
        geometry = [isinstance(f, GeometryField) for f in fields]
        tables[model._meta.label_lower] = [
            tuple(bytes(v.ewkb) if g and v is not None else v for g, v in zip(geometry, row, strict=True))
            for row in rows
        ]
    return tables


def derived_snapshot(using: str = "default") -> dict[str, list[tuple]]:
    """The tables the database derives itself (tile cell counts): their values, keys aside (they are recounted)."""
    tables = {}
    for model in derived_models():
        if model._meta.label_lower == "assets.registerversion":
            continue  # the tiles' write counter: a new value after every restore by design (assets.tile_version)
        names = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        tables[model._meta.label_lower] = sorted(model._base_manager.using(using).values_list(*names))
    return tables


def media_snapshot(root: Path) -> dict[str, bytes]:
    """The data files under MEDIA_ROOT (not the worker's heartbeat)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "worker.heartbeat"
    }


def assert_same_tables(case, expected: dict, actual: dict) -> None:
    case.assertEqual(sorted(expected), sorted(actual))
    for label in expected:
        case.assertEqual(expected[label], actual[label], f"table {label} differs")


def assert_register_is_meaningful(case, tables: dict) -> None:
    """The comparison must cover real data: these tables have rows."""
    for label in (
        "assets.landasset",
        "assets.historicallandasset",
        "assets.certificate",
        "assets.historicalcertificate",
        "assets.certificatestageevent",
        "assets.importjob",
        "assets.user",
        "assets.user_groups",
        "assets.user_user_permissions",
        "auth.group",
        "auth.group_permissions",
        "authtoken.token",
        "sessions.session",
        "admin.logentry",
        "axes.accesslog",
        "axes.accessattempt",
        "assets.administrativearea",
        "assets.agency",
    ):
        case.assertTrue(tables[label], f"no rows in {label}")


class SpatiaLiteFile:
    """A second database: a new SpatiaLite file, migrated (a truly empty Sipanah database)."""

    def __init__(self, case: TransactionTestCase, folder: Path, alias: str) -> None:
        self.alias = alias
        # Django's test case allows the databases it lists; this one is made here, after the class was set up.
        self.case_class, self.allowed = type(case), type(case).databases
        self.case_class.databases = frozenset({*self.allowed, alias})
        config = {"ENGINE": "django.contrib.gis.db.backends.spatialite", "NAME": str(folder / f"{alias}.sqlite3")}
        connections.settings[alias] = connections.configure_settings(
            {"default": connections.settings["default"], alias: config}
        )[alias]
        call_command("migrate", database=alias, verbosity=0, interactive=False)

    def close(self) -> None:
        connections[self.alias].close()
        del connections[self.alias]
        del connections.settings[self.alias]
        self.case_class.databases = self.allowed


FAST_HASHER = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])  # noqa: S303


@FAST_HASHER
class BackupRestoreTests(TransactionTestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.media = self.tmp / "media"
        self.media.mkdir()
        override = override_settings(MEDIA_ROOT=str(self.media))
        override.enable()
        self.addCleanup(override.disable)
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        build_register(self.media)

    def backup(self, using: str = "default", name: str = "backup.zip") -> Path:
        path = self.tmp / name
        out = io.StringIO()
        call_command("backup", "-o", str(path), "--database", using, stdout=out)
        self.assertIn("Backed up", out.getvalue())
        return path

    def test_round_trip_through_an_empty_spatialite_database_and_back(self):
        """Backup → restore into a new, empty SpatiaLite database → backup of that → restore with --force over the
        changed original. On the PostGIS run this is the move PostGIS → SpatiaLite → PostGIS."""
        before, files, cells = snapshot(), media_snapshot(self.media), derived_snapshot()
        assert_register_is_meaningful(self, before)
        # the tile cell counts (assets.tile_cells) have rows; the list of rows without history is empty here
        self.assertTrue(all(rows for label, rows in cells.items() if label != "assets.unrecordedrow"), cells)
        path = self.backup()
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)  # password hashes and tokens inside
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            self.assertNotIn("media/worker.heartbeat", zf.namelist())
        self.assertEqual(manifest["database"]["vendor"], connections["default"].vendor)
        self.assertEqual({t["model"]: t["rows"] for t in manifest["tables"]}, {k: len(v) for k, v in before.items()})

        out = io.StringIO()
        call_command("restore", str(path), "--check", stdout=out)
        self.assertIn("every checksum right; this database can take it", out.getvalue())

        target = SpatiaLiteFile(self, self.tmp, "backup_target")
        self.addCleanup(target.close)
        other_media = self.tmp / "other-media"
        with override_settings(MEDIA_ROOT=str(other_media)):
            self.assertEqual(existing_data(using=target.alias), [])  # migrate's own rows do not count
            out = io.StringIO()
            call_command("restore", str(path), "--database", target.alias, stdout=out)
            self.assertIn("Restored", out.getvalue())
            self.assertNotIn("Replacing", out.getvalue())
            assert_same_tables(self, before, snapshot(target.alias))
            self.assertEqual(derived_snapshot(target.alias), cells)  # recounted from the restored parcels
            self.assertEqual(media_snapshot(other_media), files)
            with connections[target.alias].cursor() as cursor:  # SpatiaLite's R*Tree has every restored parcel
                cursor.execute("SELECT count(*) FROM idx_assets_landasset_geom")
                self.assertEqual(cursor.fetchone()[0], sum(1 for row in before["assets.landasset"] if row[GEOM]))
            back = self.backup(using=target.alias, name="from-spatialite.zip")

        # Change the original, then put the archive back over it.
        make_asset(geom=None, nama_barang="Ditambah setelah backup")
        LandAsset.objects.filter(nama_barang="Tanah Puskesmas").update(alamat="diubah")
        (self.media / "imports" / "stray.bin").write_bytes(b"not in the backup")
        out = io.StringIO()
        call_command("restore", str(back), "--force", stdout=out)
        self.assertIn("Replacing: ", out.getvalue())
        self.assertIn("assets.landasset (5)", out.getvalue())
        self.assertIn("media files (3)", out.getvalue())

        assert_same_tables(self, before, snapshot())
        self.assertEqual(derived_snapshot(), cells)
        self.assertEqual(media_snapshot(self.media), files)
        self.assertEqual([p.name for p in self.media.iterdir() if p.name.startswith(".")], [])  # no staging left
        self.assertEqual((self.media / "worker.heartbeat").read_text(), "123.0 1\n")  # the worker's, left alone
        # The sequences were moved past the restored keys: new rows get new ids.
        fresh = make_asset(geom=None, nama_barang="Baru")
        self.assertGreater(fresh.pk, max(row[0] for row in before["assets.landasset"]))
        certificate = services.certificate_create(asset=fresh, user=None)
        self.assertGreater(certificate.pk, max(row[0] for row in before["assets.certificate"]))
        # The restored parcels are found through the spatial index.
        located = LandAsset.objects.exclude(geom=None).order_by("pk").first()
        self.assertIn(located, LandAsset.objects.filter(geom__bboverlaps=located.geom.envelope))


def rewrite(source: Path, target: Path, change, *, resign: bool = True) -> Path:
    """Copy an archive, passing each member's bytes through ``change(name, data)`` (None drops the member). With
    ``resign`` a changed manifest is signed again, as someone holding the backup key could: what the checks after
    the signature's see."""
    with zipfile.ZipFile(source) as src:
        members = {info.filename: change(info.filename, src.read(info)) for info in src.infolist()}
    if resign and members.get(MANIFEST) is not None and members.get(SIGNATURE) is not None:
        members[SIGNATURE] = signature(members[MANIFEST])
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in members.items():
            if data is not None:
                dst.writestr(name, data)
    return target


def reseal(manifest_bytes: bytes, members: dict[str, bytes]) -> bytes:
    """A manifest whose sizes and checksums match changed members: tampering that the checksums cannot see."""
    manifest = json.loads(manifest_bytes)
    for name, data in members.items():
        manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return json.dumps(manifest).encode()


@FAST_HASHER
class DamagedArchiveTests(TestCase):
    """Bad archives are refused before anything is written; a bad row found while writing rolls everything back."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp())
        cls.media = cls.tmp / "media"
        cls.media.mkdir()
        cls._media_override = override_settings(MEDIA_ROOT=str(cls.media))
        cls._media_override.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._media_override.disable()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def setUpTestData(cls):
        build_register(cls.media)
        cls.good = cls.tmp / "good.zip"
        create_backup(cls.good)

    def setUp(self):
        self.before, self.files = snapshot(), media_snapshot(self.media)

    def refused(self, path: Path, *fragments: str, force: bool = True) -> str:
        args = [str(path)] + (["--force"] if force else [])
        with self.assertRaises(CommandError) as caught:
            call_command("restore", *args, stdout=io.StringIO())
        message = str(caught.exception)
        for fragment in fragments:
            self.assertIn(fragment, message)
        # Nothing changed: every row, every file; no staging folder left behind.
        assert_same_tables(self, self.before, snapshot())
        self.assertEqual(media_snapshot(self.media), self.files)
        return message

    def test_missing_file_and_not_an_archive(self):
        self.refused(self.tmp / "nope.zip", "nope.zip does not exist")
        text = self.tmp / "notes.zip"
        text.write_text("just some text")
        self.refused(text, "notes.zip is not a Sipanah backup", "not a zip archive")
        other = rewrite(self.good, self.tmp / "other.zip", lambda n, d: None if n == "manifest.json" else d)
        self.refused(other, "has no manifest.json")

    def test_truncated_archive(self):
        data = self.good.read_bytes()
        cut = self.tmp / "cut.zip"
        cut.write_bytes(data[: len(data) // 2])
        self.refused(cut, "truncated")

    def test_damaged_bytes_inside_a_member(self):
        member = "data/assets.historicallandasset.jsonl"
        with zipfile.ZipFile(self.good) as zf:
            info = zf.getinfo(member)
        data = bytearray(self.good.read_bytes())
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the compressed bytes
        data[start + info.compress_size // 2] ^= 0xFF
        broken = self.tmp / "broken.zip"
        broken.write_bytes(bytes(data))
        self.refused(broken, member)

    def test_tampered_member(self):
        member = "data/assets.landasset.jsonl"
        tampered = rewrite(
            self.good, self.tmp / "tampered.zip", lambda n, d: d.replace(b"Negeri 1", b"Negeri 2") if n == member else d
        )
        self.refused(tampered, f"SHA-256 of {member} differs")
        with self.assertRaisesMessage(CommandError, f"SHA-256 of {member} differs"):
            call_command("restore", str(tampered), "--check", stdout=io.StringIO())
        extra = rewrite(self.good, self.tmp / "extra.zip", lambda n, d: d)
        with zipfile.ZipFile(extra, "a") as zf:
            zf.writestr("media/../../etc/evil", b"x")
        self.refused(extra, "not in its manifest")
        evil = b"x"
        escaping = rewrite(
            self.good,
            self.tmp / "escaping.zip",
            lambda n, d: reseal(d, {"media/../../etc/evil": evil}) if n == "manifest.json" else d,
        )
        with zipfile.ZipFile(escaping, "a") as zf:
            zf.writestr("media/../../etc/evil", evil)
        self.refused(escaping, "'media/../../etc/evil' is not allowed")
        self.assertFalse((self.tmp / "etc").exists())

    def test_an_archive_resealed_without_the_key_is_refused(self):
        # Checksums recomputed after an edit: they matched, and the archive restored (finding 14 of issue 21).
        member = "data/assets.landasset.jsonl"
        with zipfile.ZipFile(self.good) as zf:
            changed = zf.read(member).replace(b"Negeri 1", b"Negeri 2")

        def edit(name, data):
            return changed if name == member else reseal(data, {member: changed}) if name == MANIFEST else data

        forged = rewrite(self.good, self.tmp / "forged.zip", edit, resign=False)
        self.refused(forged, "the signature does not match the manifest", "altered after it was made")
        with self.assertRaisesMessage(CommandError, "the signature does not match"):
            call_command("restore", str(forged), "--check", stdout=io.StringIO())

    def test_an_archive_signed_with_another_key_names_both_keys(self):
        with override_settings(SIPANAH_BACKUP_KEY="another server's key"):
            theirs = key_id()
            elsewhere = rewrite(self.good, self.tmp / "elsewhere.zip", lambda n, d: d)  # signed with their key
        message = self.refused(elsewhere, "signed with another backup key", "SIPANAH_BACKUP_KEY")
        self.assertIn(theirs, message)
        self.assertIn(key_id(), message)

    def test_an_unsigned_archive_needs_accept_unsigned(self):
        unsigned = rewrite(self.good, self.tmp / "unsigned.zip", lambda n, d: None if n == SIGNATURE else d)
        self.refused(unsigned, "is not signed", "--accept-unsigned")
        out = io.StringIO()
        call_command("restore", str(unsigned), "--check", "--accept-unsigned", stdout=out)
        self.assertIn("NOT SIGNED", out.getvalue())
        out = io.StringIO()
        call_command("restore", str(self.good), "--check", stdout=out)
        self.assertIn("signed with this server's key", out.getvalue())

    def test_wrong_version_and_migration_state(self):
        def version(name, data):
            return data.replace(b'"format_version": 1', b'"format_version": 99') if name == "manifest.json" else data

        self.refused(rewrite(self.good, self.tmp / "v99.zip", version), "format version 99")

        def future(name, data):
            if name != "manifest.json":
                return data
            manifest = json.loads(data)
            manifest["migrations"]["assets"].append("0099_from_the_future")
            return json.dumps(manifest).encode()

        message = self.refused(rewrite(self.good, self.tmp / "future.zip", future), "another migration state")
        self.assertIn("0099_from_the_future", message)

    def test_a_database_with_data_needs_force(self):
        message = self.refused(self.good, "not empty", "--force", force=False)
        self.assertIn("assets.landasset (4)", message)

    def test_a_bad_row_found_while_writing_rolls_everything_back(self):
        """Checksums resealed so that only the database can notice: a certificate of an asset that is not there.
        The flush, the rows already inserted and the media swap are all undone."""
        member = "data/assets.certificate.jsonl"
        with zipfile.ZipFile(self.good) as zf:
            lines = zf.read(member).decode().splitlines()
        row = json.loads(lines[0])
        row[1] = 987654  # asset_id
        changed = ("\n".join([json.dumps(row), *lines[1:]]) + "\n").encode()

        def swap(name, data):
            if name == member:
                return changed
            if name == "manifest.json":
                return reseal(data, {member: changed})
            return data

        self.refused(rewrite(self.good, self.tmp / "orphan.zip", swap), "constraint")
        self.assertEqual(Certificate.objects.count(), len(self.before["assets.certificate"]))
