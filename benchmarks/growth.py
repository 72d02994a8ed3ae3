"""How each page's cost grows with the community: the load test at several sizes, plotted.

Usage: .venv/bin/python benchmarks/growth.py [--sizes 10000 100000 1000000] [--duration 5]
       .venv/bin/python benchmarks/growth.py --plot-only   # redraw from the runs already made

Runs ``benchmarks/load.py`` once per size (each makes or reuses its data set under
``benchmarks/.data/``; 1,000,000 RFPs take several minutes to generate and about 11 GB of
disk), then draws, with matplotlib, the median latency under load (wrk's p50) of every page for
logged-out and logged-in readers against the number of RFPs, on log-log axes, to ``benchmarks/results/growth.png`` with a table in
``benchmarks/results/growth.md``. Each point is the latest run of that size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def latest_runs() -> dict[int, dict]:
    """The most recent run of each size, from the JSON files load.py writes."""
    runs: dict[int, dict] = {}
    for path in sorted(RESULTS.glob("*-*.json")):
        data = json.loads(path.read_text())
        if "rows" not in data:
            continue
        runs[int(data["settings"]["rfps"])] = data | {"file": path.name}
    return runs


def plot(runs: dict[int, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    sizes = sorted(runs)
    pages = [(row["page"], row["label"]) for row in runs[sizes[-1]]["rows"]]
    pages = list(dict.fromkeys(pages))
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    for ax, reader in zip(axes, ("logged-out", "logged-in"), strict=True):
        for page, label in pages:
            xs, ys = [], []
            for size in sizes:
                for row in runs[size]["rows"]:
                    if row["page"] == page and row["reader"] == reader:
                        xs.append(size)
                        ys.append(row["wrk"]["p50_ms"])
            ax.plot(xs, ys, marker="o", label=label)
        hello = [sum(h["p50_ms"] for h in runs[s]["hello"]) / len(runs[s]["hello"]) for s in sizes]
        ax.plot(sizes, hello, "k--", label="hello world")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{reader} readers")
        ax.set_xlabel("RFPs in the database")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("median latency under load, ms (wrk p50, 16 connections)")
    axes[1].legend(fontsize=8, loc="upper left")
    figure.suptitle("How the cost of each page grows with the community (SQLite, 2 workers)")
    figure.savefig(RESULTS / "growth.png", dpi=110)

    lines = [
        "# Growth: median latency (ms) under load by data set size",
        "",
        "Drawn by `benchmarks/growth.py` from: "
        + ", ".join(f"[{runs[s]['file']}]({runs[s]['file']})" for s in sizes),
        "",
        "![growth](growth.png)",
        "",
        "| page | reader | " + " | ".join(f"{s:,} RFPs" for s in sizes) + " |",
        "|---|---|" + "--:|" * len(sizes),
    ]
    for page, label in pages:
        for reader in ("logged-out", "logged-in"):
            cells = []
            for size in sizes:
                match = [
                    r for r in runs[size]["rows"] if r["page"] == page and r["reader"] == reader
                ]
                cells.append(
                    f"{match[0]['wrk']['p50_ms']:.1f} ms ({match[0]['wrk']['rps']:,.0f}/s)"
                    if match
                    else "—"
                )
            lines.append(f"| {label} | {reader} | " + " | ".join(cells) + " |")
    (RESULTS / "growth.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'growth.png'} and {RESULTS / 'growth.md'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()
    if not args.plot_only:
        for size in args.sizes:
            command = [
                sys.executable,
                str(Path(__file__).with_name("load.py")),
                "--rfps",
                str(size),
                "--duration",
                str(args.duration),
            ]
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True)  # noqa: S603 - our own script, fixed args
    plot(latest_runs())


if __name__ == "__main__":
    main()
