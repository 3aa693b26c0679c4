"""The limits an import works within (settings.SIPANAH_IMPORT_LIMITS): files past them are refused before GDAL
reads them, with a message that names the limit. The command line may raise them for one run (``--max-bytes``)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class ImportLimits:
    max_file_bytes: int  # the file as uploaded
    max_uncompressed_bytes: int  # an archive's members, expanded
    max_compression_ratio: int  # any archive member larger than 1 MB expanding more than this
    max_archive_members: int

    @classmethod
    def from_settings(cls, **overrides: Any) -> ImportLimits:
        conf = settings.SIPANAH_IMPORT_LIMITS
        limits = cls(**{f.name: int(conf[f.name]) for f in fields(cls)})
        return replace(limits, **{k: v for k, v in overrides.items() if v is not None})
