"""Which bytes count as a photo: JPEG, PNG or WebP, by magic bytes and basic structure.

The browser's declared type and the file name are the sender's claim; the bytes decide. We do
not decode the image (no image library on the request path): the structure walk is enough to
refuse a renamed HTML page, an archive or a truncated upload, and the pixel count bound keeps
a "decompression bomb" away from whoever later opens the photo. Photos are never served to the
public, and regulators download them as attachments with ``nosniff``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from registry.reports.models import MAX_PHOTO_BYTES, PhotoType

__all__ = ["MAX_PIXELS", "PhotoError", "PhotoTooLargeError", "sniff_photo"]

# 50 megapixels: more than any phone camera; a 1 × 10⁹ PNG of a few kB is refused.
MAX_PIXELS = 50_000_000

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0–7: no length


class PhotoError(ValueError):
    """The upload is not an acceptable photo; ``reason`` is a stable machine word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PhotoTooLargeError(PhotoError):
    def __init__(self) -> None:
        super().__init__("too-large")


@dataclass(frozen=True, slots=True)
class _Size:
    width: int
    height: int


def _check_pixels(size: _Size) -> None:
    if size.width <= 0 or size.height <= 0:
        raise PhotoError("malformed")
    if size.width * size.height > MAX_PIXELS:
        raise PhotoError("too-many-pixels")


def _png(data: bytes) -> _Size:
    """Every chunk's length and CRC, IHDR first and IEND last, nothing after it."""
    offset = len(_PNG_SIGNATURE)
    size: _Size | None = None
    first = True
    while True:
        if offset + 12 > len(data):
            raise PhotoError("malformed")
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        end = offset + 8 + length
        if length > 0x7FFFFFFF or end + 4 > len(data):
            raise PhotoError("malformed")
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[offset + 4 : end]) != crc:
            raise PhotoError("malformed")
        if first:
            if kind != b"IHDR" or length != 13:
                raise PhotoError("malformed")
            width, height = struct.unpack_from(">II", data, offset + 8)
            size = _Size(width, height)
            first = False
        offset = end + 4
        if kind == b"IEND":
            break
    if offset != len(data) or size is None:
        raise PhotoError("malformed")
    return size


def _jpeg(data: bytes) -> _Size:
    """Marker segments from SOI to the start of scan, a frame header among them, EOI last."""
    offset = 2
    size: _Size | None = None
    while True:
        if offset + 4 > len(data) or data[offset] != 0xFF:
            raise PhotoError("malformed")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_STANDALONE:
            offset += 2
            continue
        (length,) = struct.unpack_from(">H", data, offset + 2)
        if length < 2 or offset + 2 + length > len(data):
            raise PhotoError("malformed")
        if marker in _JPEG_SOF:
            if length < 8:
                raise PhotoError("malformed")
            height, width = struct.unpack_from(">HH", data, offset + 5)
            size = _Size(width, height)
        if marker == 0xDA:  # start of scan: entropy-coded data follows, up to EOI
            break
        if marker == 0xD9:
            raise PhotoError("malformed")
        offset += 2 + length
    # Some cameras pad the file after EOI; anything but padding would be a second payload.
    if size is None or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise PhotoError("malformed")
    return size


def _webp(data: bytes) -> _Size:
    """A RIFF container of exactly the file's length whose first chunk is VP8, VP8L or VP8X."""
    if len(data) < 30:
        raise PhotoError("malformed")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 != len(data):
        raise PhotoError("malformed")
    kind = data[12:16]
    (chunk,) = struct.unpack_from("<I", data, 16)
    if 20 + chunk > len(data):
        raise PhotoError("malformed")
    payload = data[20:]
    if kind == b"VP8 ":
        if payload[3:6] != b"\x9d\x01\x2a":
            raise PhotoError("malformed")
        width, height = struct.unpack_from("<HH", payload, 6)
        return _Size(width & 0x3FFF, height & 0x3FFF)
    if kind == b"VP8L":
        if payload[0] != 0x2F:
            raise PhotoError("malformed")
        (bits,) = struct.unpack_from("<I", payload, 1)
        return _Size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        width = int.from_bytes(payload[4:7], "little") + 1
        height = int.from_bytes(payload[7:10], "little") + 1
        return _Size(width, height)
    raise PhotoError("malformed")


def sniff_photo(data: bytes, *, declared: str | None) -> PhotoType:
    """The type of ``data`` if it is an acceptable photo whose bytes match ``declared`` (the
    upload's Content-Type, when the browser sent one); raise :class:`PhotoError` otherwise."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLargeError()
    if data.startswith(_PNG_SIGNATURE):
        kind, size = PhotoType.PNG, _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        kind, size = PhotoType.JPEG, _jpeg(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind, size = PhotoType.WEBP, _webp(data)
    else:
        raise PhotoError("not-an-image")
    _check_pixels(size)
    # image/jpg and image/pjpeg are what some older browsers and phones still send.
    aliases = {"image/jpg": PhotoType.JPEG.value, "image/pjpeg": PhotoType.JPEG.value}
    claimed = (declared or "").split(";")[0].strip().lower()
    claimed = aliases.get(claimed, claimed)
    if claimed and claimed != "application/octet-stream" and claimed != kind.value:
        raise PhotoError("type-mismatch")
    return kind
