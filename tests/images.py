"""Test files made by the tests themselves: good images and hostile ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png(width: int = 640, height: int = 400, color=(30, 90, 200)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), color)
    image.putpixel((0, 0), (255, 0, 0))
    image.save(out, "PNG", pnginfo=_text_chunk())
    return out.getvalue()


def _text_chunk():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-metadata")
    return info


def jpeg_rotated() -> bytes:
    """A 60×30 JPEG with EXIF orientation 6 (rotate 90° clockwise to view), red on the left."""
    image = Image.new("RGB", (60, 30), (255, 255, 255))
    for x in range(10):
        for y in range(30):
            image.putpixel((x, y), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SecretCamera"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (0, 128, 0)).save(out, "WEBP")
    return out.getvalue()


def tiff() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 0)).save(out, "TIFF")
    return out.getvalue()


SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="10" height="10"/></svg>'
HTML_AS_PNG = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def truncated_png() -> bytes:
    data = png(400, 300, (10, 20, 30))
    return data[: len(data) // 2]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width``×``height``: a decompression bomb's calling card."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = zlib.compress(row * 64, 9)  # only the first rows; a real bomb repeats to the end
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def six_megabytes() -> bytes:
    return png(32, 32) + b"\x00" * (6 * 1000 * 1000)


def jpeg_with_broken_exif() -> bytes:
    """Orientation 6 plus tag 0x0140 (ColorMap, a SHORT tag) holding ASCII text: Pillow trips on it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Cam"
    raw = exif.tobytes().replace(b"\x01\x0f\x00\x02", b"\x01\x40\x00\x02", 1)
    out = io.BytesIO()
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=raw)
    return out.getvalue()


def png_with_icc_profile() -> bytes:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(out, "PNG", icc_profile=profile)
    return out.getvalue()


def png_16_bit_grey() -> bytes:
    image = Image.new("I;16", (32, 32))
    image.putdata([40_000] * (32 * 32))  # a light grey, well above 255
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
