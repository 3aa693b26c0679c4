"""A backup made by the code before the rooms layout (commit c99741d) restores into today's Sipanah.

tests/data/backup-c99741d.zip was made by that commit's ``manage.py backup`` on SpatiaLite: 40 demo assets
(generate_demo_assets --seed 7), the demo users, a web-style import of five features by ``bpkad`` (3 new, 2 updated,
its file kept in the import log), a removal with its SK, a stage change with a NIB, an edit with a non-ASCII note and
an API token. As the restore docs say, an archive restores into a database at its migration state, and ``migrate``
then brings it up to date: the test migrates the assets app back to the archive's state, restores, migrates forward
and reads the register.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase
from django.utils import timezone

from assets.models import Certificate, CertificateStageEvent, ImportJob, LandAsset, User
from assets.ops.backup.restore import restore_backup
from assets.register.reads import RegisterSelection
from tests.factories import temp_media_root

ARCHIVE = Path(__file__).resolve().parent.parent / "data" / "backup-c99741d.zip"


def migrate_to(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


class OldArchiveRestoresTests(TransactionTestCase):
    def setUp(self) -> None:
        self.media = temp_media_root(self.addCleanup)
        with zipfile.ZipFile(ARCHIVE) as archive:
            self.manifest = json.loads(archive.read("manifest.json"))
            self.import_file = archive.read("media/imports/2026/12/five.geojson")
        latest = MigrationExecutor(connection).loader.graph.leaf_nodes("assets")
        self.addCleanup(migrate_to, latest)  # the next tests need today's schema whatever happens here

    def test_an_archive_of_c99741d_restores_and_migrates_forward(self):
        [archive_state] = self.manifest["migration_leaves"]["assets"]
        migrate_to([("assets", archive_state)])
        restore_backup(ARCHIVE, media_root=self.media, accept_unsigned=True)  # made before backups were signed
        migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes("assets"))

        tables = {t["model"]: t["rows"] for t in self.manifest["tables"]}
        self.assertEqual(LandAsset.objects.count(), tables["assets.landasset"])
        self.assertEqual(LandAsset.history.count(), tables["assets.historicallandasset"])
        self.assertEqual(Certificate.objects.count(), tables["assets.certificate"])
        self.assertEqual(CertificateStageEvent.objects.count(), tables["assets.certificatestageevent"])
        self.assertEqual(User.objects.count(), tables["assets.user"])

        removed = LandAsset.objects.get(removal_sk_nomor="SK-REM-1/2026")
        self.assertEqual(removed.removed_at, dt.date(2026, 1, 5))
        self.assertTrue(LandAsset.objects.filter(keterangan="Dicek lapangan Ω").exists())
        self.assertTrue(Certificate.objects.filter(nib="64710000012345", stage="PETA_BIDANG_TERBIT").exists())
        job = ImportJob.objects.get()
        self.assertEqual((job.user.username, job.created, job.updated), ("bpkad", 3, 2))
        self.assertEqual(Path(job.file.path).read_bytes(), self.import_file)
        self.assertTrue(User.objects.get(username="bpkad").check_password("sipanah-demo"))

        # Today's read path over the restored register: the removed asset is out of it, the rest in.
        live = RegisterSelection.everything().totals()
        self.assertEqual(live.count, tables["assets.landasset"] - 1)
        self.assertEqual(
            RegisterSelection.from_params({"as_of": timezone.localdate().isoformat()}).totals().count, live.count
        )
