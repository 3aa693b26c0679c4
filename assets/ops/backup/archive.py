"""The backup archive itself: its members and manifest, how each column's values are written and read back,
and the checks an archive passes before anything is restored from it (format described in the package)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import GEOSGeometry
from django.db import models
from django.db.migrations.recorder import MigrationRecorder
from django.utils.duration import duration_iso_string

from assets.maps import tile_cells, tile_version
from assets.register import aggregates, history_validity

FORMAT = "sipanah-backup"


FORMAT_VERSION = 1


MANIFEST = "manifest.json"


# HMAC-SHA256 of manifest.json's bytes with settings.SIPANAH_BACKUP_KEY: the manifest holds every other member's
# SHA-256, so the signature authenticates the whole archive. Checksums alone only caught accidents: an edited archive
# with recomputed checksums restored.
SIGNATURE = "manifest.hmac"


BATCH = 2000


CHUNK = 1 << 20


# Files under MEDIA_ROOT that belong to the running processes, not to the data: neither saved nor replaced.
TRANSIENT_PREFIXES = ("worker.heartbeat", ".restore-", ".replaced-")


class BackupError(Exception):
    """A problem with an archive or with the target database, said in words for the user."""


# Tables the database fills itself from other tables (triggers): not saved; emptied by a restore and recounted at its
# end by the module's ``install(using=..., fill=True)``.
DERIVED: dict[str, Callable[..., None]] = {
    "assets.assetcell": tile_cells.install,
    "assets.registerversion": tile_version.install,
    "assets.registertotal": aggregates.install,
    "assets.unrecordedrow": history_validity.install,
    "assets.certificatestatusspan": history_validity.install,
    "assets.asofpiece": history_validity.install,
    "assets.asoftotal": history_validity.install,
}


def _managed_models() -> list[type[models.Model]]:
    found = [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    return sorted(found, key=lambda m: m._meta.label_lower)


def backed_up_models() -> list[type[models.Model]]:
    """Every table Django manages (the auto-created many-to-many tables included) but the derived ones."""
    return [m for m in _managed_models() if m._meta.label_lower not in DERIVED]


def derived_models() -> list[type[models.Model]]:
    return [m for m in _managed_models() if m._meta.label_lower in DERIVED]


def app_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def encoder(f: models.Field) -> Callable[[Any], Any] | None:
    """How a column's Python value becomes a JSON value (None: it already is one)."""
    if isinstance(f, GeometryField):
        return lambda v: v.hexewkb.decode("ascii")
    if isinstance(f, models.DateField | models.TimeField):  # DateTimeField too
        return lambda v: v.isoformat()
    if isinstance(f, models.DecimalField):
        return str
    if isinstance(f, models.JSONField):
        return lambda v: json.dumps(v, cls=f.encoder, ensure_ascii=False)
    if isinstance(f, models.BinaryField):
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(f, models.DurationField):
        return duration_iso_string
    if isinstance(f, models.UUIDField):
        return str
    return None


def decoder(f: models.Field) -> Callable[[Any], Any] | None:
    """The inverse of :func:`encoder` (None: the JSON value is the Python value)."""
    if isinstance(f, GeometryField):
        return GEOSGeometry
    if isinstance(f, models.DateTimeField):
        return dt.datetime.fromisoformat
    if isinstance(f, models.DateField):
        return dt.date.fromisoformat
    if isinstance(f, models.TimeField):
        return dt.time.fromisoformat
    if isinstance(f, models.DecimalField):
        return Decimal
    if isinstance(f, models.JSONField):
        return lambda v: json.loads(v, cls=f.decoder)
    if isinstance(f, models.BinaryField):
        return base64.b64decode
    if isinstance(f, models.DurationField | models.UUIDField):
        return f.to_python
    return None


# Column types whose archived text PostgreSQL's COPY takes as it is (the decoded value is only checked in Python).
COPY_AS_TEXT = (
    GeometryField,
    models.DateField,
    models.TimeField,
    models.DecimalField,
    models.JSONField,
    models.UUIDField,
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.AutoField,
    models.BigAutoField,
    models.FileField,
    models.ForeignKey,
)


ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_row(encoders: list, values: tuple) -> list:
    return [v if e is None or v is None else e(v) for e, v in zip(encoders, values, strict=True)]


class HashingWriter:
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.size += len(data)
        self.stream.write(data)

    def entry(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha.hexdigest()}


def media_files(media_root: Path) -> Iterator[tuple[str, Path]]:
    if not media_root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(media_root):
        here = Path(dirpath)
        if here == media_root:
            dirnames[:] = [d for d in dirnames if not d.startswith(TRANSIENT_PREFIXES)]
            filenames = [f for f in filenames if not f.startswith(TRANSIENT_PREFIXES)]
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(media_root).as_posix(), path


def member_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def migration_state(connection: Any) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in MigrationRecorder(connection).applied_migrations():
        applied.setdefault(app_label, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (
        bool(parts)
        and parts[0] in ("data", "media")
        and len(parts) >= 2
        and not name.startswith("/")
        and "\\" not in name
        and not any(p in ("..", ".", "") for p in parts)
        and not (parts[0] == "media" and parts[1].startswith(TRANSIENT_PREFIXES))
    )


def _check_manifest(manifest: Any, where: str) -> None:
    def bad(problem: str) -> BackupError:
        return BackupError(f"{where}: manifest.json {problem}.")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bad("is not a Sipanah backup manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise bad(f"has format version {version!r}; this Sipanah reads version {FORMAT_VERSION}")
    if not isinstance(manifest.get("members"), dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) and isinstance(v.get("size"), int)
        for v in manifest["members"].values()
    ):
        raise bad("has no valid list of members (size and SHA-256 of each)")
    state = manifest.get("migrations")
    if not isinstance(state, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in state.values()
    ):
        raise bad("has no valid migration state")
    tables = manifest.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict)
        and isinstance(t.get("model"), str)
        and isinstance(t.get("member"), str)
        and isinstance(t.get("rows"), int)
        and isinstance(t.get("columns"), list)
        for t in tables
    ):
        raise bad("has no valid list of tables")
    for table in tables:
        if table["member"] not in manifest["members"]:
            raise bad(f"names {table['member']} for {table['model']} but lists no such member")


def _key() -> bytes:
    # A key of its own for backups, even when derived from SECRET_KEY (not the same bytes Django signs cookies with).
    return hashlib.sha256(b"sipanah-backup\0" + settings.SIPANAH_BACKUP_KEY.encode()).digest()


def key_id() -> str:
    """A short public fingerprint of the backup key: which key signed an archive, never the key."""
    return hashlib.sha256(b"sipanah-backup-key-id\0" + _key()).hexdigest()[:12]


def signature(manifest_bytes: bytes) -> bytes:
    """The archive's SIGNATURE member for ``manifest_bytes``."""
    mac = hmac.new(_key(), manifest_bytes, hashlib.sha256).hexdigest()
    return json.dumps({"algorithm": "HMAC-SHA256", "key_id": key_id(), "hmac": mac}).encode()


@dataclass
class Archive:
    path: Path
    zf: zipfile.ZipFile
    manifest: dict[str, Any]
    manifest_bytes: bytes = b""
    signature: bytes | None = None  # the SIGNATURE member; None in an archive made before backups were signed
    staged_media: Path | None = None
    media_files: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.zf.close()
        if self.staged_media is not None and self.staged_media.exists():
            shutil.rmtree(self.staged_media, ignore_errors=True)


def open_archive(path: Path) -> Archive:
    """Open and read the manifest; nothing else is checked yet (see :func:`verify_archive`)."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path} does not exist.")
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BackupError(
            f"{path} is not a Sipanah backup: not a zip archive, or a truncated one (its table of contents, at the "
            f"end, is missing): {exc}."
        ) from exc
    except OSError as exc:
        raise BackupError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    try:
        try:
            raw = zf.read(MANIFEST)
        except KeyError as exc:
            raise BackupError(f"{path} is not a Sipanah backup: it has no {MANIFEST}.") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BackupError(f"{path}: {MANIFEST} is damaged ({exc}).") from exc
        try:
            manifest = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BackupError(f"{path}: {MANIFEST} is not valid JSON ({exc}).") from exc
        _check_manifest(manifest, str(path))
        try:
            signed = zf.read(SIGNATURE)
        except KeyError:
            signed = None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BackupError(f"{path}: {SIGNATURE} is damaged ({exc}).") from exc
    except BaseException:
        zf.close()
        raise
    return Archive(path=path, zf=zf, manifest=manifest, manifest_bytes=raw, signature=signed)


def authenticate(archive: Archive, *, accept_unsigned: bool = False) -> None:
    """Check the archive's signature with this server's backup key, before anything else is trusted. An unsigned
    archive (made before backups were signed) passes only with ``accept_unsigned``."""
    where = archive.path
    if archive.signature is None:
        if accept_unsigned:
            return
        raise BackupError(
            f"{where} is not signed (an archive made before Sipanah signed its backups, or put together by hand). "
            "If you know where it comes from, restore it with --accept-unsigned."
        )
    try:
        signed = json.loads(archive.signature)
        mac, their_key = str(signed["hmac"]), str(signed.get("key_id", "?"))
    except (ValueError, UnicodeDecodeError, TypeError, KeyError) as exc:
        raise BackupError(f"{where}: {SIGNATURE} is not a Sipanah signature.") from exc
    expected = hmac.new(_key(), archive.manifest_bytes, hashlib.sha256).hexdigest()
    if hmac.compare_digest(mac, expected):
        return
    if their_key != key_id():
        raise BackupError(
            f"{where} was signed with another backup key (key id {their_key[:12]}; this server's is {key_id()}). "
            "Restore it on a server with that key: set SIPANAH_BACKUP_KEY to the key of the server that made it."
        )
    raise BackupError(
        f"{where}: the signature does not match the manifest: the archive was altered after it was made. "
        "It is not restored."
    )


def verify_archive(archive: Archive, *, stage_media_in: Path | None = None) -> None:
    """Check that the members are exactly the manifest's, with its sizes and SHA-256. With ``stage_media_in`` the
    media files are extracted on the way into a new staging folder there (``archive.staged_media``)."""
    where = archive.path
    expected = archive.manifest["members"]
    present = [i for i in archive.zf.infolist() if i.filename not in (MANIFEST, SIGNATURE) and not i.is_dir()]
    names = [i.filename for i in present]
    if len(set(names)) != len(names):
        raise BackupError(f"{where}: a member appears twice in the archive.")
    for name in sorted(set(names) - set(expected)):
        raise BackupError(f"{where}: {name} is in the archive but not in its manifest (was the archive altered?).")
    for name in sorted(set(expected) - set(names)):
        raise BackupError(f"{where}: {name}, listed in the manifest, is missing from the archive.")
    for name in names:
        if not _safe_member(name):
            raise BackupError(f"{where}: the member name {name!r} is not allowed (absolute, '..', or unknown folder).")
    if stage_media_in is not None:
        stage_media_in.mkdir(parents=True, exist_ok=True)
        archive.staged_media = Path(tempfile.mkdtemp(prefix=".restore-", dir=stage_media_in))
    for info in present:
        entry = expected[info.filename]
        if info.file_size != entry["size"]:
            raise BackupError(
                f"{where}: {info.filename} holds {info.file_size} bytes, the manifest says {entry['size']} "
                "(was the archive altered?)."
            )
        sha = hashlib.sha256()
        target = None
        if archive.staged_media is not None and info.filename.startswith("media/"):
            target = archive.staged_media.joinpath(*PurePosixPath(info.filename).parts[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.zf.open(info) as src, target.open("wb") if target else _NullWriter() as out:
                while chunk := src.read(CHUNK):
                    sha.update(chunk)
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BackupError(f"{where}: {info.filename} is damaged ({exc}).") from exc
        except OSError as exc:
            raise BackupError(f"{where}: {info.filename} cannot be read or staged ({exc}).") from exc
        if sha.hexdigest() != entry["sha256"]:
            raise BackupError(
                f"{where}: the SHA-256 of {info.filename} differs from the manifest's (the archive was altered or "
                "damaged)."
            )
        if target is not None:
            archive.media_files.append(info.filename)


class _NullWriter:
    def __enter__(self) -> _NullWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> None:
        return None
