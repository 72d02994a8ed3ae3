"""How long the portal's one-off image work takes: upload processing and sketch drawing.

Usage: .venv/bin/python benchmarks/plots.py [--runs 7]

Each case runs once to warm up (imports, font cache), then ``--runs`` times; the table shows the
median and the fastest and slowest run, in milliseconds. This is the work done once when a plot
is saved; page views never do it.
"""

from __future__ import annotations

import argparse
import io
import math
import platform
import statistics
import time

from PIL import Image, ImageDraw

from rfp_portal.rendering.images import process_drawn, process_upload
from rfp_portal.rendering.sketch import draw_sketch


def _photo_like(width: int, height: int) -> Image.Image:
    """A busy image (gradients and lines) so encoders have real work, unlike a flat colour."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for k in range(0, width, 40):
        draw.line([(k, 0), (width - k, height)], fill=(k % 255, 80, 160), width=3)
    return image


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def upload_cases() -> dict[str, bytes]:
    exif = Image.Exif()
    exif[0x0112] = 6
    return {
        "PNG 2000×1500 (plot export)": _encoded(_photo_like(2000, 1500), "PNG"),
        "JPEG 4000×3000, EXIF orientation 6": _encoded(
            _photo_like(4000, 3000), "JPEG", quality=90, exif=exif
        ),
        "WebP 1600×1200": _encoded(_photo_like(1600, 1200), "WEBP", quality=85),
        "PNG 640×400 (small)": _encoded(_photo_like(640, 400), "PNG"),
    }


def _series(n: int, count: int) -> list[dict]:
    return [
        {
            "name": f"run {s}",
            "x": [1 + i for i in range(n)],
            "y": [1 + math.sin(i / 7 + s) ** 2 + i / n for i in range(n)],
        }
        for s in range(count)
    ]


def sketch_cases() -> dict[str, dict]:
    base = {"title": "Loss against steps", "x_label": "step $t$", "y_label": "loss $\\mathcal{L}$"}
    return {
        "line, 3 series × 20 points": {**base, "kind": "line", "series": _series(20, 3)},
        "line, hand-drawn, log-log": {
            **base,
            "kind": "line",
            "x_log": True,
            "y_log": True,
            "hand_drawn": True,
            "series": _series(20, 3),
        },
        "scatter, 5 × 400 points (the cap)": {**base, "kind": "scatter", "series": _series(400, 5)},
        "line, hand-drawn, 5 × 400 points": {
            **base,
            "kind": "line",
            "hand_drawn": True,
            "series": _series(400, 5),
        },
        "bar, 2 series × 6 categories": {
            **base,
            "kind": "bar",
            "series": [
                {"name": n, "x": list("ABCDEF"), "y": [1, 3, 2, 5, 4, 6]} for n in ("a", "b")
            ],
        },
        "line, math-heavy labels": {
            **base,
            "kind": "line",
            "title": "$\\frac{\\partial \\mathcal{L}}{\\partial \\theta} = \\sum_{i=1}^{n} \\sqrt{x_i^2 + \\epsilon}$",
            "series": _series(20, 2),
        },
    }


def worst_allowed() -> dict:
    """The slowest spec the form accepts, as far as we know: every limit at once."""
    label = "$" + "{" * 7 + "\\frac{\\sqrt{x^{2}}}{\\sum_{i}^{n}}" + "}" * 7 + "$"
    label = (label + " " + label)[:200] if len(label + " " + label) <= 200 else label
    return {
        "kind": "line",
        "title": label,
        "x_label": label,
        "y_label": label,
        "x_log": True,
        "y_log": True,
        "hand_drawn": True,
        "series": [{**s, "name": label[:60]} for s in _series(400, 5)],
    }


def save_sketch(spec: dict):
    """What saving a sketch costs: drawing it, then re-encoding and thumbnailing the PNG."""
    return process_drawn(draw_sketch(spec))


def measure(function, argument, runs: int) -> tuple[float, float, float]:
    function(argument)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(
        f"# Plot processing, median of {args.runs} runs ({platform.python_version()}, {platform.machine()})\n"
    )
    print("| work | input | median ms | min ms | max ms |")
    print("|---|---|---:|---:|---:|")
    for name, data in upload_cases().items():
        median, low, high = measure(process_upload, data, args.runs)
        print(
            f"| upload | {name}, {len(data) / 1e6:.1f} MB | {median:.0f} | {low:.0f} | {high:.0f} |"
        )
    for name, spec in sketch_cases().items():
        median, low, high = measure(draw_sketch, spec, args.runs)
        print(f"| sketch preview | {name} | {median:.0f} | {low:.0f} | {high:.0f} |")
    for name, spec in [
        ("line, 3 series × 20 points", sketch_cases()["line, 3 series × 20 points"]),
        ("worst allowed input", worst_allowed()),
    ]:
        median, low, high = measure(save_sketch, spec, args.runs)
        print(
            f"| sketch save (draw + thumbnail) | {name} | {median:.0f} | {low:.0f} | {high:.0f} |"
        )


if __name__ == "__main__":
    main()
