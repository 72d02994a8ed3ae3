"""Sketches: the plot an author wishes existed, drawn by matplotlib from a small spec.

The spec is a plain dict (stored as JSON) so it can be edited and redrawn. ``parse_*`` and
``validate_spec`` bound everything a person can type (labels, math, points) before anything is
drawn, which bounds the drawing time; matplotlib is imported only inside ``draw_sketch``, and used
through its object API (``Figure`` + Agg canvas), never pyplot's global state.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

KINDS = ("line", "scatter", "bar")
MAX_SERIES = 5
MAX_POINTS = 2_000  # over all series
LABEL_MAX = 200
NAME_MAX = 60
BRACE_DEPTH_MAX = 10
HSPACE = re.compile(r"\\hspace\s*\{\s*([-+]?[0-9]*\.?[0-9]+)")
HSPACE_MAX = 20  # a wider space would make a picture of nothing but space

MAX_CATEGORIES = 50
TIME_LIMIT = 5.0  # seconds for one drawing; it runs in a child process (rendering.bounded)
MEMORY_LIMIT = 768 * 1024 * 1024


class SketchError(ValueError):
    """The spec cannot be drawn; ``field`` names the part of the form it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _number(text: str, what: str, field: str) -> float:
    try:
        value = float(text.strip().replace("\u2212", "-"))
    except ValueError:
        raise SketchError(f"“{text.strip()[:30]}” is not a number ({what}).", field) from None
    if not math.isfinite(value):
        raise SketchError(f"{what} must be a finite number.", field)
    return value


def _split(line: str) -> list[str]:
    delimiter = "\t" if "\t" in line else "," if "," in line else ";" if ";" in line else None
    if delimiter is None:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_points(text: str, *, kind: str, field: str) -> tuple[list, list[float]]:
    """Read "x, y" lines (a header line is skipped). Bars take a category as x.

    :raise SketchError: on a line that is not two values, or more points than allowed.
    """
    xs: list = []
    ys: list[float] = []
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and len(_split(lines[0])) == 2 and not _is_number(_split(lines[0])[1].strip()):
        lines = lines[1:]  # a header such as "epoch, loss"
    if len(lines) > MAX_POINTS:
        raise SketchError(f"A sketch can have at most {MAX_POINTS:,} points.", field)
    for number, line in enumerate(lines, start=1):
        cells = _split(line)
        if len(cells) != 2:
            raise SketchError(f"Line {number} should be two values, “x, y”.", field)
        x, y = cells
        xs.append(
            x.strip()[:NAME_MAX] if kind == "bar" else _number(x, f"x on line {number}", field)
        )
        ys.append(_number(y, f"y on line {number}", field))
    return xs, ys


def parse_csv(text: str, *, kind: str, field: str = "csv") -> list[dict[str, Any]]:
    """Read CSV with a header row: the first column is x, each further column a series.

    :raise SketchError: on ragged rows, non-numbers, too many series or points.
    """
    rows = [row for row in csv.reader(io.StringIO(text.strip()), skipinitialspace=True) if row]
    if len(rows) < 2:
        raise SketchError("Paste a header row and at least one row of values.", field)
    header, body = rows[0], rows[1:]
    if len(header) < 2:
        raise SketchError("The header needs an x column and at least one series column.", field)
    if len(header) - 1 > MAX_SERIES:
        raise SketchError(f"A sketch can have at most {MAX_SERIES} series.", field)
    if len(body) * (len(header) - 1) > MAX_POINTS:
        raise SketchError(f"A sketch can have at most {MAX_POINTS:,} points.", field)
    series = [{"name": name.strip()[:NAME_MAX], "x": [], "y": []} for name in header[1:]]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise SketchError(
                f"Row {number} has {len(row)} values; the header has {len(header)}.", field
            )
        x = (
            row[0].strip()[:NAME_MAX]
            if kind == "bar"
            else _number(row[0], f"x in row {number}", field)
        )
        for entry, cell in zip(series, row[1:], strict=True):
            if cell.strip() == "":
                continue  # a gap in one series
            entry["x"].append(x)
            entry["y"].append(_number(cell, f"{entry['name'] or 'value'} in row {number}", field))
    return series


def check_label(text: str, field: str) -> None:
    """Bound a label and make sure its math (``$…$``) parses, as matplotlib will read it.

    :raise SketchError: when it is too long, too deeply nested or its math is malformed.
    """
    if len(text) > LABEL_MAX:
        raise SketchError(f"Keep this under {LABEL_MAX} characters.", field)
    dollars = text.count("$") - text.count(r"\$")
    if dollars == 0 or dollars % 2:
        return  # matplotlib reads it as plain text
    depth = deepest = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        deepest = max(deepest, depth)
    if deepest > BRACE_DEPTH_MAX:
        raise SketchError(f"The math is nested more than {BRACE_DEPTH_MAX} braces deep.", field)
    for width in HSPACE.findall(text):
        if not -HSPACE_MAX <= float(width) <= HSPACE_MAX:
            raise SketchError(f"Keep \\hspace between -{HSPACE_MAX} and {HSPACE_MAX}.", field)
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(text, dpi=72)
    except (ValueError, RecursionError, KeyError, IndexError):
        raise SketchError(
            "The math in this label does not parse; check that every { has its } and every "
            "command is spelt right, e.g. $\\frac{a}{b}$.",
            field,
        ) from None


def validate_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Check a whole spec (as built by the form or read back from JSON); return it normalised.

    :raise SketchError: on anything that could not be drawn, or drawn only slowly.
    """
    kind = spec.get("kind")
    if kind not in KINDS:
        raise SketchError("Choose a line, scatter or bar chart.", "kind")
    for field in ("title", "x_label", "y_label"):
        check_label(spec.get(field) or "", field)
    series = spec.get("series") or []
    series = [s for s in series if s.get("y")]
    if not series:
        raise SketchError("Give at least one series of points.", "series")
    if len(series) > MAX_SERIES:
        raise SketchError(f"A sketch can have at most {MAX_SERIES} series.", "series")
    if sum(len(s["y"]) for s in series) > MAX_POINTS:
        raise SketchError(f"A sketch can have at most {MAX_POINTS:,} points.", "series")
    for s in series:
        check_label(s.get("name") or "", "series")
    if kind == "bar":
        categories = {str(x) for s in series for x in s["x"]}
        if len(categories) > MAX_CATEGORIES:
            raise SketchError(
                f"A bar chart can have at most {MAX_CATEGORIES} categories.", "series"
            )
        for category in categories:
            check_label(category, "series")  # tick labels are read as math too
    for axis in ("x", "y"):
        if spec.get(f"{axis}_log"):
            values = [v for s in series for v in s[axis]]
            if axis == "x" and kind == "bar":
                raise SketchError(
                    "A bar chart's x axis holds categories; it cannot be logarithmic.", "x_log"
                )
            if any(v <= 0 for v in values):
                raise SketchError(
                    f"A logarithmic {axis} axis needs every {axis} value above zero.", f"{axis}_log"
                )
    return {
        "kind": kind,
        "title": spec.get("title") or "",
        "x_label": spec.get("x_label") or "",
        "y_label": spec.get("y_label") or "",
        "x_log": bool(spec.get("x_log")),
        "y_log": bool(spec.get("y_log")),
        "hand_drawn": bool(spec.get("hand_drawn")),
        "series": [
            {"name": s.get("name") or "", "x": list(s["x"]), "y": list(s["y"])} for s in series
        ],
    }


def _hand_drawn_rc() -> dict[str, Any]:
    """matplotlib's xkcd look (as pyplot.xkcd sets it), with the fonts we have."""
    from matplotlib import patheffects

    return {
        "font.size": 15.0,
        "path.sketch": (1, 100, 2),
        "path.effects": [patheffects.withStroke(linewidth=4, foreground="w")],
        "axes.linewidth": 1.5,
        "lines.linewidth": 2.0,
        "axes.grid": False,
        "axes.unicode_minus": False,
        "axes.edgecolor": "black",
        "xtick.major.size": 8,
        "xtick.major.width": 3,
        "ytick.major.size": 8,
        "ytick.major.width": 3,
    }


def _plain_log_labels(axis) -> None:
    """Label a log axis 0.01, 1, 100 rather than 10⁻², 10⁰, 10²; a short axis labels minor ticks too."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _position: f"{value:g}")
    axis.set_major_formatter(plain)
    low, high = sorted(axis.get_view_interval())
    axis.set_minor_formatter(plain if low > 0 and high / low < 10 else NullFormatter())


def draw_sketch(spec: dict[str, Any], *, time_limit: float = TIME_LIMIT) -> bytes:
    """Draw a spec as an 800×500 PNG, in a child process stopped after ``time_limit`` seconds.

    :raise SketchError: when the spec is invalid, or matplotlib refuses it or takes too long.
    """
    from rfp_portal.rendering.bounded import run_or_refuse

    spec = validate_spec(spec)
    # Imported here, in the worker, the first time a sketch is drawn: every later child is forked
    # with matplotlib already loaded instead of importing it again (~0.1–0.7 s). Page views never
    # get here.
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    return run_or_refuse(
        _draw,
        spec,
        refusal=SketchError,
        too_costly="This sketch takes too long to draw; please use fewer points or simpler labels.",
        failed="This sketch could not be drawn; please simplify its labels or data.",
        seconds=time_limit,
        extra_memory=MEMORY_LIMIT,
    )


def _draw(spec: dict[str, Any]) -> bytes:
    """matplotlib's object API, in whichever process calls it (draw_sketch uses a child)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rc = {"figure.facecolor": "white", "savefig.facecolor": "white", "font.size": 14.0}
    if spec["hand_drawn"]:
        rc.update(_hand_drawn_rc())
    with matplotlib.rc_context(rc):
        figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        series = spec["series"]
        if spec["kind"] == "bar":
            categories: list = []
            for s in series:
                categories += [x for x in s["x"] if x not in categories]
            width = 0.8 / len(series)
            # On a log axis bars cannot start at 0: start them a decade below the smallest value
            # (from 0 they would run off the chart, and the hand-drawn wiggle with them).
            bottom = min(y for s in series for y in s["y"]) / 10 if spec["y_log"] else 0
            for index, s in enumerate(series):
                positions = [categories.index(x) - 0.4 + width * (index + 0.5) for x in s["x"]]
                heights = [y - bottom for y in s["y"]]
                axes.bar(positions, heights, bottom=bottom, width=width, label=s["name"] or None)
            axes.set_xticks(range(len(categories)), [str(c) for c in categories])
        else:
            for s in series:
                if spec["kind"] == "line":
                    axes.plot(s["x"], s["y"], marker="o", markersize=3, label=s["name"] or None)
                else:
                    axes.scatter(s["x"], s["y"], s=16, label=s["name"] or None)
            if spec["x_log"]:
                axes.set_xscale("log")
        if spec["y_log"]:
            axes.set_yscale("log")
        for axis, is_log in (
            (axes.xaxis, spec["x_log"] and spec["kind"] != "bar"),
            (axes.yaxis, spec["y_log"]),
        ):
            if is_log:
                _plain_log_labels(axis)
        axes.set_title(spec["title"])
        axes.set_xlabel(spec["x_label"])
        axes.set_ylabel(spec["y_label"])
        if any(s["name"] for s in series):
            axes.legend()
        if spec["hand_drawn"]:
            figure.text(
                0.99,
                0.01,
                "hypothesis — sketch",
                ha="right",
                va="bottom",
                fontsize=10,
                color="#555555",
            )
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png", metadata={"Software": None})
        except (ValueError, RecursionError, OverflowError, RuntimeError, MemoryError) as error:
            raise SketchError(
                "This sketch could not be drawn; please simplify its labels or data."
            ) from error
    return buffer.getvalue()


def spec_to_text(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Each series as (name, "x, y" lines), to put a stored spec back into the form."""
    rows = []
    for s in spec.get("series", []):
        lines = "\n".join(f"{_fmt(x)}, {_fmt(y)}" for x, y in zip(s["x"], s["y"], strict=True))
        rows.append((s.get("name", ""), lines))
    return rows


def _fmt(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str) and ("," in value or '"' in value):
        return '"' + value.replace('"', '""') + '"'
    return str(value)
