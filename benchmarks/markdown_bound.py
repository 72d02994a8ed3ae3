"""How long saving Markdown can take: ordinary texts and crafted worst cases, through the bound.

Usage: .venv/bin/python benchmarks/markdown_bound.py [--runs 3]

Every case goes through ``render_markdown`` as a save does: short texts in the worker, longer
ones in a forked child that is stopped after ``CPU_LIMIT`` of processor time. The table shows the slowest of the
runs in milliseconds and whether the text rendered or was refused as too intricate; the last line
is the longest any input held the worker. Page views never render Markdown.
"""

from __future__ import annotations

import argparse
import platform
import time

from rfp_portal.rendering.markdown import (
    CPU_LIMIT,
    IN_PROCESS_MAX,
    TIME_LIMIT,
    MarkdownTooComplex,
    render_markdown,
)

FORMULA = "The loss $L(\\theta) = \\frac{1}{N}\\sum_{i=1}^N \\ell(f_\\theta(x_i), y_i)$ falls. "
ORDINARY = {
    "a comment (200 chars)": "Nice idea! I tried *this* on [CIFAR-10](https://x.org) and got $n^2$. "
    * 3,
    "an RFP, 5 KB of prose": ("The big picture: why do **loss curves** bend? " * 110),
    "an RFP, 20 KB with 200 formulas": FORMULA * 200,
    "an RFP, 20 KB table": "| a | b |\n|---|---|\n" + "| **x** | [l](https://a.org) |\n" * 700,
    "an RFP, 20 KB list": "\n".join(
        f"{i}. item *em* [link](https://e.org/{i})" for i in range(400)
    ),
}
CRAFTED = {
    '"[" x IN_PROCESS_MAX': "[" * IN_PROCESS_MAX,
    '"[" x 2,000': "[" * 2_000,
    '"[" x 20,000': "[" * 20_000,
    '"<a " x 6,666': "<a " * 6_666,
    '"[a](b " x 3,333': "[a](b " * 3_333,
    '"*a " x 6,666': "*a " * 6_666,
    '">" x 20,000': ">" * 20_000 + "a",
    '"`" x 20,000': "`" * 20_000,
    "nested lists, 20 KB": "".join(" " * (i % 60) + "- a\n" for i in range(700)),
    "200 unclosed formulas": "$\\frac{" * 2_800,
    "references x 1,000": "[a]: b\n" * 1_000 + "[a] " * 1_000,
}


def measure(text: str, runs: int) -> tuple[float, str]:
    slowest, outcome = 0.0, ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            render_markdown(text)
            outcome = "rendered"
        except MarkdownTooComplex:
            outcome = "refused: too intricate"
        slowest = max(slowest, time.perf_counter() - start)
    return slowest * 1000, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# Markdown on save ({platform.python_implementation()} {platform.python_version()})")
    print(
        f"in-process up to {IN_PROCESS_MAX} characters; the child is stopped after {CPU_LIMIT} s "
        f"of processor time ({TIME_LIMIT} s of wall time at most)\n"
    )
    print("| text | chars | slowest ms | outcome |\n|---|---:|---:|---|")
    worst = 0.0
    for group in (ORDINARY, CRAFTED):
        for name, text in group.items():
            ms, outcome = measure(text, args.runs)
            worst = max(worst, ms)
            print(f"| {name} | {len(text):,} | {ms:.0f} | {outcome} |")
    print(f"\nThe longest any text held the worker: {worst:.0f} ms.")


if __name__ == "__main__":
    main()
