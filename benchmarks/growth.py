"""How each page's cost grows with the community: the load test at several sizes, plotted.

Usage: .venv/bin/python benchmarks/growth.py [--sizes 10000 100000 1000000] [--duration 5]
                                              [--engines sqlite postgresql]
       .venv/bin/python benchmarks/growth.py --plot-only   # redraw from benchmarks/results/growth.json

Runs ``benchmarks/load.py`` once per size, on the engines given (both by default; each makes or
reuses its data set under ``benchmarks/.data/``; 1,000,000 RFPs take several minutes to generate
and about 11 GB of disk on SQLite, more time on PostgreSQL) and keeps the figures each run left
in ``benchmarks/.data/load-<rfps>.json`` in ``benchmarks/results/growth.json`` (per size: when,
which commit, and every page's rate and latency per engine; no paths of the machine), replacing
that size's earlier run and keeping the others. From that file it draws, with matplotlib, the
median latency under load (wrk's p50) of every page for logged-out and logged-in readers against
the number of RFPs, on log-log axes, one row of plots per engine, to
``benchmarks/results/growth.png``, with a table in ``benchmarks/results/growth.md``. Runs kept
from before load.py measured PostgreSQL count as SQLite runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FIGURES = RESULTS / "growth.json"


ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def slim(report: dict) -> dict:
    """What the growth figures need of one load.py report (its raw JSON), and nothing else."""
    machine = report["machine"]
    database = machine["database"]
    if isinstance(database, dict):  # one version per engine since load.py measured both
        database = ", ".join(database.values())
    return {
        "started_at": report["started_at"],
        "command": report["command"],
        "code": machine["code"],
        "machine": f"{machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"{database}",
        "duration_s": report["settings"]["duration_s"],
        "hello": [
            {key: hello[key] for key in ("when", "rps", "p50_ms", "p99_ms")}
            for hello in report["hello"]
        ],
        "rows": [
            {
                "engine": row.get("engine", "sqlite"),
                "page": row["page"],
                "label": row["label"],
                "reader": row["reader"],
                "rps": row["wrk"]["rps"],
                "p50_ms": row["wrk"]["p50_ms"],
                "p99_ms": row["wrk"]["p99_ms"],
            }
            for row in report["rows"]
        ],
    }


def stored_runs() -> dict[int, dict]:
    """The run of each size kept in growth.json (empty before the first)."""
    if not FIGURES.exists():
        return {}
    return {int(size): run for size, run in json.loads(FIGURES.read_text())["runs"].items()}


def save_runs(runs: dict[int, dict]) -> None:
    document = {
        "about": "One benchmarks/load.py run per size (RFPs), as drawn in growth.png and "
        "growth.md; benchmarks/growth.py replaces a size's run when it runs that size again.",
        "runs": {str(size): runs[size] for size in sorted(runs)},
    }
    FIGURES.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def pages_of(runs: dict[int, dict]) -> list[tuple[str, str]]:
    """(page, label) in the order of the largest run, then pages only smaller runs measured
    (each page's label from the largest run that has it: search labels name the size's word)."""
    pages: dict[str, str] = {}
    for size in sorted(runs, reverse=True):
        for row in runs[size]["rows"]:
            pages.setdefault(row["page"], row["label"])
    return list(pages.items())


def engines_of(runs: dict[int, dict]) -> list[str]:
    """The engines measured in any run, SQLite first (runs from before PostgreSQL: SQLite)."""
    found = {row.get("engine", "sqlite") for run in runs.values() for row in run["rows"]}
    return [engine for engine in ENGINE_NAMES if engine in found]


def _matching(run: dict, engine: str, page: str, reader: str) -> list[dict]:
    return [
        row
        for row in run["rows"]
        if row.get("engine", "sqlite") == engine and row["page"] == page and row["reader"] == reader
    ]


def plot(runs: dict[int, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    sizes = sorted(runs)
    engines = engines_of(runs)
    figure = Figure(figsize=(11, 4.8 * len(engines)), layout="constrained")
    grid = figure.subplots(len(engines), 2, sharey=True, squeeze=False)
    for engine, axes in zip(engines, grid, strict=True):
        for ax, reader in zip(axes, ("logged-out", "logged-in"), strict=True):
            for page, label in pages_of(runs):
                xs, ys = [], []
                for size in sizes:
                    for row in _matching(runs[size], engine, page, reader):
                        xs.append(size)
                        ys.append(row["p50_ms"])
                if xs:
                    ax.plot(xs, ys, marker="o", label=label)
            hello = [
                sum(h["p50_ms"] for h in runs[s]["hello"]) / len(runs[s]["hello"]) for s in sizes
            ]
            ax.plot(sizes, hello, "k--", label="hello world")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{ENGINE_NAMES[engine]}, {reader} readers")
            ax.set_xlabel("RFPs in the database")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel("median latency under load, ms (wrk p50, 16 connections)")
        axes[1].legend(fontsize=8, loc="upper left")
    figure.suptitle("How the cost of each page grows with the community (2 workers)")
    figure.savefig(RESULTS / "growth.png", dpi=110)


def table(runs: dict[int, dict]) -> str:
    sizes = sorted(runs)
    lines = [
        "# Growth: median latency (ms) under load by data set size",
        "",
        "Drawn by `benchmarks/growth.py` from [growth.json](growth.json), one `benchmarks/load.py` "
        "run per size: "
        + ", ".join(
            f"{s:,} RFPs at {runs[s]['started_at']} (code {runs[s]['code']})" for s in sizes
        )
        + ".",
        "",
        "![growth](growth.png)",
        "",
        "| page | reader | engine | " + " | ".join(f"{s:,} RFPs" for s in sizes) + " |",
        "|---|---|---|" + "--:|" * len(sizes),
    ]
    for page, label in pages_of(runs):
        for reader in ("logged-out", "logged-in"):
            for engine in engines_of(runs):
                cells = []
                for size in sizes:
                    match = _matching(runs[size], engine, page, reader)
                    cells.append(
                        f"{match[0]['p50_ms']:.1f} ms ({match[0]['rps']:,.0f}/s)" if match else "—"
                    )
                if any(cell != "—" for cell in cells):
                    lines.append(
                        f"| {label} | {reader} | {ENGINE_NAMES[engine]} | "
                        + " | ".join(cells)
                        + " |"
                    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=tuple(ENGINE_NAMES),
        default=list(ENGINE_NAMES),
        help="passed to load.py (default: sqlite postgresql)",
    )
    parser.add_argument(
        "--with-writes",
        action="store_true",
        help="also measure reads under 1, 5 and 20 writes a second at each size (slower)",
    )
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()
    runs = stored_runs()
    if not args.plot_only:
        from load import run_paths  # benchmarks/load.py, beside this file

        for size in args.sizes:
            command = [
                sys.executable,
                str(HERE / "load.py"),
                "--rfps",
                str(size),
                "--duration",
                str(args.duration),
                "--engines",
                *args.engines,
                # The pages and posting a comment; reads under writes only when asked.
                *([] if args.with_writes else ["--write-rates"]),
            ]
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True)  # noqa: S603 - our own script, fixed args
            runs[size] = slim(json.loads(run_paths(size)[1].read_text()))
        save_runs(runs)
    if not runs:
        raise SystemExit(
            f"No figures yet in {FIGURES.relative_to(HERE.parent)}: run without --plot-only."
        )
    plot(runs)
    (RESULTS / "growth.md").write_text(table(runs))
    print(
        "wrote benchmarks/results/growth.png and growth.md"
        + ("" if args.plot_only else ", growth.json")
    )


if __name__ == "__main__":
    main()
