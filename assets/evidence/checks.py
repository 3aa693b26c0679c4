"""What an uploaded document must be, read from its bytes, never from its name: PDF, JPEG, PNG, TIFF (and HEIC phone
photos when pillow-heif is installed). Each refusal is an UploadRefused whose message names the file and the reason.

Also here: the thumbnail of an image (Pillow) or of a PDF's first page (pdftoppm, poppler-utils), and the EXIF GPS
position and direction of a photo. Limits come from ``settings.SIPANAH_EVIDENCE_LIMITS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import resource
import shutil
import subprocess  # noqa: S404 - pdftoppm, with a fixed argument list
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

try:  # optional: phone photos in HEIC (pillow-heif from PyPI); without it they are refused with a message
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

    register_heif_opener()
    HEIC_READABLE = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIC_READABLE = False

THUMBNAIL_PX = 320
PDF_THUMBNAIL_SECONDS = 20
PDF_THUMBNAIL_MEMORY = 512 * 1024 * 1024
PDF_SCAN_STREAMS = 2000  # compressed streams looked into for JavaScript (a scan of a few hundred pages has fewer)

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "heic": "image/heic",
}
SUFFIXES = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png", "tiff": ".tif", "heic": ".heic"}


class UploadRefused(ValueError):
    """A file that is not taken, with the reason (shown to the user as it is)."""


def limits() -> dict[str, int]:
    return settings.SIPANAH_EVIDENCE_LIMITS


def check_name(name: str) -> str:
    """The file's name as shown (never used as a path): refused when it holds a path or nothing."""
    if not name or name.strip() in ("", ".", ".."):
        raise UploadRefused(_("A file without a name was sent."))
    if "/" in name or "\\" in name or "\x00" in name or ".." in name.split("/"):
        raise UploadRefused(
            _("“%(name)s” is refused: a file name may not contain a folder path (/, \\ or ..).") % {"name": name[:200]}
        )
    return name.strip()[:255]


def sniff(head: bytes) -> str | None:
    """The kind of file its first bytes say it is, or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"):
        return "heic"
    return None


_PDF_NAME = re.compile(rb"/J(?:[A-Za-z]|#[0-9A-Fa-f]{2})*")
_PDF_STREAM = re.compile(rb"stream\r?\n")


def _pdf_name_is_script(raw: bytes) -> bool:
    name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    return name in (b"/JS", b"/JavaScript")


def pdf_has_javascript(data: bytes) -> bool:
    """Whether a PDF carries JavaScript (/JS or /JavaScript, also written with #xx escapes), in its plain bytes or in
    its Flate-compressed streams (object streams hide dictionaries there)."""
    if any(_pdf_name_is_script(m.group(0)) for m in _PDF_NAME.finditer(data)):
        return True
    for count, match in enumerate(_PDF_STREAM.finditer(data)):
        if count >= PDF_SCAN_STREAMS:
            break
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        try:
            inflated = zlib.decompressobj().decompress(data[match.end() : end], 64 * 1024 * 1024)
        except zlib.error:
            continue
        if any(_pdf_name_is_script(m.group(0)) for m in _PDF_NAME.finditer(inflated)):
            return True
    return False


@dataclass
class Checked:
    """A file that passed: what it is, and what was read from it."""

    kind: str
    content_type: str
    suffix: str
    width: int | None = None
    height: int | None = None


def _open_image(data: bytes, name: str) -> Image.Image:
    """The image, opened under the pixel limit (a decompression bomb is refused before its pixels are decoded)."""
    max_pixels = limits()["max_image_pixels"]
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise Image.DecompressionBombError(f"{width}x{height}")
            image.load()
            return image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRefused(
            _(
                "“%(name)s” is refused: the image would unpack to more than %(max)s million pixels "
                "(a decompression bomb, or a scan at a needlessly high resolution)."
            )
            % {"name": name, "max": f"{max_pixels / 1e6:g}"}
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UploadRefused(
            _("“%(name)s” is refused: the image is damaged or incomplete and cannot be read.") % {"name": name}
        ) from exc
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def check_file(name: str, data: bytes) -> Checked:
    """Accept a file or raise UploadRefused naming it and the reason."""
    max_bytes = limits()["max_file_bytes"]
    if not data:
        raise UploadRefused(_("“%(name)s” is refused: the file is empty (0 bytes).") % {"name": name})
    if len(data) > max_bytes:
        raise UploadRefused(
            _("“%(name)s” is refused: %(size)s MB is more than the %(max)s MB a document may have.")
            % {"name": name, "size": f"{len(data) / 1048576:.1f}", "max": f"{max_bytes / 1048576:g}"}
        )
    kind = sniff(data[:16])
    if kind is None:
        raise UploadRefused(
            _(
                "“%(name)s” is refused: its content is not a PDF, JPEG, PNG or TIFF file "
                "(the type is read from the file itself, not from its name)."
            )
            % {"name": name}
        )
    if kind == "heic" and not HEIC_READABLE:
        raise UploadRefused(
            _("“%(name)s” is refused: HEIC photos cannot be read on this server; send it as JPEG.") % {"name": name}
        )
    checked = Checked(kind, CONTENT_TYPES[kind], SUFFIXES[kind])
    if kind == "pdf":
        if b"%%EOF" not in data[-2048:]:
            raise UploadRefused(_("“%(name)s” is refused: the PDF is incomplete (no end of file).") % {"name": name})
        if pdf_has_javascript(data):
            raise UploadRefused(
                _("“%(name)s” is refused: the PDF contains JavaScript. Print it to a new PDF or scan it again.")
                % {"name": name}
            )
    else:
        image = _open_image(data, name)
        checked.width, checked.height = image.size
    return checked


# --- Thumbnails ------------------------------------------------------------------------------------------


def image_thumbnail(data: bytes, name: str) -> bytes:
    """A JPEG at most THUMBNAIL_PX on its longer side, turned upright as the camera says."""
    image = _open_image(data, name)
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = ImageOps.exif_transpose(image)
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _limit_child() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (PDF_THUMBNAIL_MEMORY, PDF_THUMBNAIL_MEMORY))


def pdf_thumbnail(data: bytes) -> bytes | None:
    """The first page as a JPEG (pdftoppm, under a time and memory limit); None when poppler cannot draw it."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(data)
        target = Path(folder) / "page"
        command = [pdftoppm, "-f", "1", "-l", "1", "-scale-to", str(THUMBNAIL_PX), "-jpeg", "-singlefile",
                   str(source), str(target)]  # fmt: skip
        try:
            subprocess.run(  # noqa: S603 - fixed program, our own temporary paths
                command, check=True, capture_output=True, timeout=PDF_THUMBNAIL_SECONDS, preexec_fn=_limit_child
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            return None
        result = target.with_suffix(".jpg")
        return result.read_bytes() if result.is_file() else None


def thumbnail(checked: Checked, name: str, data: bytes) -> bytes | None:
    if checked.kind == "pdf":
        return pdf_thumbnail(data)
    try:
        return image_thumbnail(data, name)
    except (UploadRefused, OSError, ValueError):
        return None


# --- EXIF GPS --------------------------------------------------------------------------------------------


@dataclass
class PhotoPosition:
    lon: float | None = None
    lat: float | None = None
    direction: float | None = None  # degrees from north, clockwise (true or magnetic as the camera wrote)
    taken_at: dt.datetime | None = None


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    if str(ref).strip().upper() in ("S", "W"):
        result = -result
    return result


def photo_position(data: bytes) -> PhotoPosition:
    """EXIF GPS position, image direction and time of a JPEG/TIFF/HEIC photo; empty when it has none."""
    found = PhotoPosition()
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return found
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        details = exif.get_ifd(ExifTags.IFD.Exif)
    except (KeyError, ValueError, TypeError):
        return found
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef, "N"))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef, "E"))
    if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0.0, 0.0):
        found.lat, found.lon = lat, lon
    direction = gps.get(ExifTags.GPS.GPSImgDirection)
    try:
        if direction is not None and 0 <= float(direction) <= 360:
            found.direction = float(direction) % 360
    except (TypeError, ValueError, ZeroDivisionError):
        pass
    taken = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if isinstance(taken, str):
        with contextlib.suppress(ValueError):
            found.taken_at = timezone.make_aware(dt.datetime.strptime(taken.strip(), "%Y:%m:%d %H:%M:%S"))
    return found


def read_all(upload: IO[bytes]) -> bytes:
    """The upload's bytes, at most one byte past the size limit (the check then names the limit)."""
    return upload.read(limits()["max_file_bytes"] + 1)
