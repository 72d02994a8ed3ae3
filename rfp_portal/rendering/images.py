"""Uploaded images: checked, turned upright, re-encoded without metadata and thumbnailed, once.

Pillow is imported only here, inside the functions, so no page view pays for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 25_000_000
MAX_SIDE = 12_000
MAX_ASPECT = 20
TIME_LIMIT = 15.0  # seconds to process one upload, in a child process
MEMORY_LIMIT = 1536 * 1024 * 1024
THUMB_MAX = 480

# The format is decided from the first bytes, never from the name or the browser's claim.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}


class ImageRejected(ValueError):
    """The upload is not an image the portal accepts; the message says why, for the person."""


@dataclass(frozen=True)
class Encoded:
    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    image: Encoded
    thumb: Encoded


def sniff_format(head: bytes) -> str | None:
    """PNG, JPEG or WEBP from the magic numbers at the start of the file, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _encode(image, fmt: str) -> Encoded:
    out = io.BytesIO()
    image.info = {}  # nothing but the pixels is written: no EXIF, text chunks or ICC profile
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=90, method=4)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("L" if image.mode == "1" else "RGBA")
        image.save(out, "PNG", compress_level=6)  # optimize=True can take a minute on noise
    extension, content_type = FORMATS[fmt]
    return Encoded(out.getvalue(), extension, content_type, image.width, image.height)


def process_upload(data: bytes, *, time_limit: float = TIME_LIMIT) -> ProcessedImage:
    """Check and re-encode an uploaded image, and make its thumbnail.

    The work runs in a child process with a time and memory limit (rendering.bounded): some small
    files decode into gigabytes, and some encode for minutes.

    :raise ImageRejected: for anything but a whole PNG, JPEG or WebP image within the limits.
    """
    from rfp_portal.rendering.bounded import run_or_refuse

    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImageRejected(f"The image is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if sniff_format(data[:16]) is None:
        raise ImageRejected(
            "Upload a PNG, JPEG or WebP image (SVG and other formats are not accepted)."
        )
    from PIL import Image, ImageOps  # noqa: F401 - loaded once here, so each child starts with it

    return run_or_refuse(
        _process,
        data,
        refusal=ImageRejected,
        too_costly="This image is too large or complex to process; please export it smaller.",
        failed="The image is damaged or incomplete; please export it again.",
        seconds=time_limit,
        extra_memory=MEMORY_LIMIT,
    )


def _process(data: bytes) -> ProcessedImage:
    """The Pillow work of process_upload (run in a child process)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = sniff_format(data[:16])
    try:
        # open() reads only the header, so the size is known before any pixel is decoded.
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ImageRejected(
                    f"The image is {width}×{height} pixels; the most accepted is "
                    f"{MAX_PIXELS // 1_000_000} megapixels."
                )
            if max(width, height) > min(MAX_SIDE, MAX_ASPECT * min(width, height)):
                raise ImageRejected(
                    f"The image is {width}×{height} pixels; a plot can be at most {MAX_SIDE:,} "
                    f"pixels on a side and {MAX_ASPECT} times as long as it is wide."
                )
            probe.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey: scale, don't clip
                upright = upright.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(
            f"The image has too many pixels; the most accepted is {MAX_PIXELS // 1_000_000} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected("This file is not a valid image.") from None
    except Exception:  # Pillow raises many kinds on crafted files (struct.error, TypeError, …)
        raise ImageRejected("The image is damaged or incomplete; please export it again.") from None
    return _finish(upright, fmt)


def process_drawn(png: bytes) -> ProcessedImage:
    """Thumbnail a PNG the portal drew itself (a sketch)."""
    from PIL import Image

    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        image.load()
        return _finish(image, "PNG")


def _finish(image, fmt: str) -> ProcessedImage:
    full = _encode(image, fmt)
    thumb = image.copy()
    thumb.thumbnail((THUMB_MAX, THUMB_MAX))
    return ProcessedImage(full, _encode(thumb, fmt))
