"""Benchmark: how long the command line takes to answer ``--help``, for ``workbench`` and every verb.

    python -m bench.cli_startup [--repeat 5] [--top 3]

Each verb's ``workbench VERB --help`` runs as a new process (the installed ``workbench`` script, as a person
types it), ``--repeat`` times; the median is printed beside the slowest run. One more run under
``python -X importtime`` shows what the verb pays for: its ``--top`` modules by cumulative import time.
Target: every one under 1 s on this machine (2 cores). Last line: JSON with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

WORKBENCH = str(Path(sys.executable).parent / "workbench")
TARGET_S = 1.0


def verbs() -> list[list[str]]:
    """Every verb as its words (``["review", "pull"]``), read from the parser."""
    from workbench.cli import build_parser

    out: list[list[str]] = [[]]

    def walk(parser, prefix):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append(prefix)
            return
        for name, sub in subs[0].choices.items():
            walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return out


def time_help(words: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([WORKBENCH, *words, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def import_costs(words: list[str], top: int) -> list[tuple[str, float]]:
    """The ``top`` packages of one ``--help`` run by import time (seconds): each package's largest cumulative
    time (itself with everything it imported), the command line's own modules left out."""
    code = f"import sys; sys.argv = ['workbench', *{[*words, '--help']!r}]; from workbench.cli import main; main()"
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    costs: dict[str, float] = {}
    for line in run.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if name.startswith("workbench.cli"):
            continue
        root = ".".join(name.split(".")[:2]) if name.startswith("workbench.") else name.split(".")[0]
        costs[root] = max(costs.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(costs.items(), key=lambda kv: -kv[1])[:top]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--top", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; python {platform.python_version()}")
    print(f"{'command':<34}{'median s':>9}{'max s':>8}  what it imports (cumulative s)")
    rows = []
    for words in verbs():
        times = time_help(words, args.repeat)
        costs = import_costs(words, args.top)
        med = statistics.median(times)
        label = "workbench " + " ".join(words)
        flag = "" if med < TARGET_S else "  OVER 1 s"
        print(f"{label:<34}{med:>9.2f}{max(times):>8.2f}  " + ", ".join(f"{n} {s:.2f}" for n, s in costs) + flag)
        rows.append({"command": label, "median_s": round(med, 3), "max_s": round(max(times), 3), "imports": costs})
    worst = max(rows, key=lambda r: r["median_s"])
    over = [r["command"] for r in rows if r["median_s"] >= TARGET_S]
    print(
        f"{len(rows)} commands; slowest {worst['command']} {worst['median_s']:.2f} s; over {TARGET_S:.0f} s: {len(over)}"
    )
    print(json.dumps({"target_s": TARGET_S, "over": over, "rows": rows}))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
