"""Which uploads count as a photo: real JPEG, PNG and WebP files, nothing dressed up as one."""

from __future__ import annotations

import struct
import zlib

import pytest

from registry.reports.models import MAX_PHOTO_BYTES, PhotoType
from registry.reports.photos import PhotoError, PhotoTooLargeError, sniff_photo
from tests.registry.reports_support import photo_bytes


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def _reason(data: bytes, declared: str | None = None) -> str:
    with pytest.raises(PhotoError) as caught:
        sniff_photo(data, declared=declared)
    return caught.value.reason


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("JPEG", PhotoType.JPEG), ("PNG", PhotoType.PNG), ("WEBP", PhotoType.WEBP)],
)
def test_real_photos_are_taken_with_or_without_a_declared_type(
    kind: str, media_type: PhotoType
) -> None:
    data = photo_bytes(kind)
    assert sniff_photo(data, declared=media_type.value) is media_type
    assert sniff_photo(data, declared=None) is media_type
    assert sniff_photo(data, declared="application/octet-stream") is media_type


def test_older_browsers_jpeg_types_are_understood() -> None:
    assert sniff_photo(photo_bytes("JPEG"), declared="image/pjpeg") is PhotoType.JPEG
    assert sniff_photo(photo_bytes("JPEG"), declared="IMAGE/JPG") is PhotoType.JPEG


def test_lossless_webp_is_taken() -> None:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (9, 7), (1, 2, 3)).save(out, format="WEBP", lossless=True)
    assert sniff_photo(out.getvalue(), declared="image/webp") is PhotoType.WEBP


def test_an_html_page_named_photo_png_is_not_an_image() -> None:
    assert _reason(b"<!doctype html><script>alert(1)</script>", "image/png") == "not-an-image"


def test_a_svg_is_not_an_image_we_take() -> None:
    # SVG can carry script; it is no photo.
    assert _reason(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml") == "not-an-image"


def test_a_png_declared_as_jpeg_is_a_mismatch() -> None:
    assert _reason(photo_bytes("PNG"), "image/jpeg") == "type-mismatch"


def test_a_png_with_a_flipped_byte_fails_its_crc() -> None:
    data = bytearray(photo_bytes("PNG"))
    data[40] ^= 0x01
    assert _reason(bytes(data)) == "malformed"


def test_a_png_with_data_after_iend_is_refused() -> None:
    assert _reason(photo_bytes("PNG") + b"PK\x03\x04 a zip archive") == "malformed"


def test_a_truncated_png_is_refused() -> None:
    data = photo_bytes("PNG")
    assert _reason(data[:-5]) == "malformed"


def test_a_png_decompression_bomb_is_refused_by_its_header() -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + _png_chunk(b"IEND", b"")
    )
    assert _reason(bomb) == "too-many-pixels"


def test_a_png_of_zero_pixels_is_refused() -> None:
    header = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    empty = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b"")
    assert _reason(empty) == "malformed"


def test_a_jpeg_magic_number_alone_is_not_a_jpeg() -> None:
    assert _reason(b"\xff\xd8\xff\xe0" + b"\x00" * 100) == "malformed"


def test_a_jpeg_without_its_end_marker_is_refused() -> None:
    data = photo_bytes("JPEG")
    assert _reason(data[:-2]) == "malformed"


def test_a_jpeg_with_a_payload_after_its_end_is_refused() -> None:
    assert _reason(photo_bytes("JPEG") + b"<html>hidden</html>") == "malformed"


def test_a_webp_whose_riff_size_lies_is_refused() -> None:
    data = bytearray(photo_bytes("WEBP"))
    data[4:8] = struct.pack("<I", len(data) + 100)
    assert _reason(bytes(data)) == "malformed"


def test_a_riff_that_is_not_webp_is_not_an_image() -> None:
    assert _reason(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28) == "not-an-image"


def test_more_than_5_mb_is_refused_before_any_parsing() -> None:
    with pytest.raises(PhotoTooLargeError):
        sniff_photo(b"\x00" * (MAX_PHOTO_BYTES + 1), declared="image/png")
