"""The limits an import works within (settings.SIPANAH_IMPORT_LIMITS, every one listed in docs/transfer.md with the
error it gives): a file past them is refused with a message that names the limit, and nothing is written. The
command line may raise the file size for one run (``--max-bytes``)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int  # the file as uploaded
    max_uncompressed_bytes: int  # a zip-based file's members (zip, KMZ, XLSX), expanded
    max_compression_ratio: int  # any member larger than 1 MB expanding more than this
    max_archive_members: int
    max_xml_bytes: int  # a KML (or a KMZ's KML): GDAL builds the whole document, several times its size, in memory
    max_features: int  # features (rows) in one file
    max_text_length: int  # characters in one text value
    wall_seconds: int  # reading the file (assets.transfer.importing.sandbox)
    memory_bytes: int  # the reading process's memory beyond what it starts with

    @classmethod
    def from_settings(cls, **overrides: Any) -> ImportLimits:
        conf = settings.SIPANAH_IMPORT_LIMITS
        limits = cls(**{f.name: int(conf[f.name]) for f in fields(cls)})
        return replace(limits, **{k: v for k, v in overrides.items() if v is not None})
