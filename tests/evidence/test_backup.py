"""Backup and restore carry the document files: every file and thumbnail comes back byte for byte, matching the
SHA-256 recorded with the document, withdrawn documents with their withdrawal."""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import TransactionTestCase, override_settings

from assets.evidence import services
from assets.evidence.models import Document, DocumentType
from tests.evidence import files
from tests.factories import load_reference, make_asset, square


class EvidenceBackupTests(TransactionTestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.media = self.tmp / "media"
        self.media.mkdir()
        override = override_settings(MEDIA_ROOT=str(self.media))
        override.enable()
        self.addCleanup(override.disable)
        load_reference()

    def test_every_document_byte_comes_back_with_its_checksum(self):
        asset = make_asset(geom=square(116.83, -1.25))
        uploads = [
            ("sertifikat.pdf", files.pdf_bytes(pages=3), DocumentType.SERTIFIKAT),
            ("foto.jpg", files.photo_bytes(116.83, -1.25, 90), DocumentType.FOTO_LAPANGAN),
            ("peta.png", files.png_bytes(), DocumentType.PETA_BIDANG),
            ("scan.tif", files.tiff_bytes(), DocumentType.LAINNYA),
        ]
        for name, data, doc_type in uploads:
            services.document_add(
                asset=asset, user=None, name=name, data=data, fields=services.DocumentFields(doc_type=doc_type)
            )
        services.document_withdraw(document=Document.objects.get(original_name="peta.png"), user=None, reason="salah")
        before = {
            d.pk: (d.sha256, Path(d.file.path).read_bytes(), Path(d.thumbnail.path).read_bytes(), d.withdrawn_at)
            for d in Document.objects.all()
        }
        archive = self.tmp / "backup.zip"
        call_command("backup", "-o", str(archive), stdout=io.StringIO())

        # Lose and damage the files, change the rows, then restore over it.
        first = Document.objects.get(original_name="sertifikat.pdf")
        Path(first.file.path).write_bytes(b"damaged")
        shutil.rmtree(self.media / "evidence" / str(asset.pk) / "..", ignore_errors=True)
        Document.objects.filter(pk=first.pk).update(note="changed after the backup")
        out = io.StringIO()
        call_command("restore", str(archive), "--force", stdout=out)
        self.assertIn("Restored", out.getvalue())

        after = Document.objects.all()
        self.assertEqual(len(after), len(before))
        for doc in after:
            sha, data, thumb, withdrawn = before[doc.pk]
            restored = Path(doc.file.path).read_bytes()
            self.assertEqual(restored, data, doc.original_name)  # every byte
            self.assertEqual(hashlib.sha256(restored).hexdigest(), doc.sha256)
            self.assertEqual(doc.sha256, sha)
            self.assertEqual(Path(doc.thumbnail.path).read_bytes(), thumb)
            self.assertEqual(doc.withdrawn_at, withdrawn)
        self.assertEqual(Document.objects.get(pk=first.pk).note, "")
        originals = {name: data for name, data, _t in uploads}
        for doc in after:
            self.assertEqual(Path(doc.file.path).read_bytes(), originals[doc.original_name])
