"""Test files for the evidence tests, made here: PDFs and photos (with EXIF GPS and direction), and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image


def pdf_bytes(pages: int = 1, color: str = "white") -> bytes:
    out = io.BytesIO()
    images = [Image.new("RGB", (200, 280), color) for _ in range(pages)]
    images[0].save(out, "PDF", save_all=True, append_images=images[1:])
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 4)
    return (float(d), float(m), s)


def photo_bytes(
    lon: float | None = None,
    lat: float | None = None,
    direction: float | None = None,
    size=(640, 480),
    fmt: str = "JPEG",
    taken: str = "2024:05:17 09:30:00",
) -> bytes:
    """A phone-like photo: EXIF with the GPS position (degrees, minutes, seconds with N/S and E/W) and direction."""
    image = Image.new("RGB", size, (90, 140, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Sipanah test camera"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if lon is not None and lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "S" if lat < 0 else "N"
        gps[ExifTags.GPS.GPSLatitude] = _dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = "W" if lon < 0 else "E"
        gps[ExifTags.GPS.GPSLongitude] = _dms(lon)
        if direction is not None:
            gps[ExifTags.GPS.GPSImgDirectionRef] = "T"
            gps[ExifTags.GPS.GPSImgDirection] = float(direction)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def png_bytes(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def tiff_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("L", (300, 400), 128).save(out, "TIFF")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 100_000) -> bytes:
    """A PNG that says it is side x side pixels (10 billion) in a few hundred bytes: a decompression bomb."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    data = compressor.compress(row * 4) + compressor.flush()  # a few rows; the header is what counts
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def pdf_with_javascript(hidden: bool = False) -> bytes:
    """A PDF whose catalogue opens with a JavaScript action; ``hidden``: the name written with #xx escapes."""
    name = b"/J#61vaScript" if hidden else b"/JavaScript"
    body = (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"3 0 obj << /S " + name + b" /JS (app.alert\\('x'\\)) >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )
    return body


def pdf_with_compressed_javascript() -> bytes:
    """The JavaScript action inside a Flate-compressed object stream, where a plain byte search does not see it."""
    inner = zlib.compress(b"3 0 << /S /JavaScript /JS (app.alert(1)) >>")
    return (
        b"%PDF-1.5\n4 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(inner)).encode()
        + b" >>\nstream\n"
        + inner
        + b"\nendstream\nendobj\ntrailer << >>\n%%EOF\n"
    )


SCRIPT_AS_PDF = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"
HTML_AS_PDF = b"<html><script>alert(document.cookie)</script></html>"
