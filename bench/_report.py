"""Shared helpers for benchmarks: print a table and write it into BENCHMARKS.md.

Each benchmark owns one section of BENCHMARKS.md, delimited by HTML comments
``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->``; re-running it replaces only
that section, so figures are always written by the command that measured them.
"""
from __future__ import annotations

import datetime as dt
import os
import pathlib
import platform
import statistics
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    cells = [[str(c) for c in r] for r in rows]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(out)


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def write_section(name: str, title: str, body: str, command: str) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md and print it."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- bench:{name} -->\n## {title}\n\n"
               f"Measured by `{command}` at {stamp}, commit {commit()}, on {machine()}.\n\n"
               f"{body.strip()}\n<!-- /bench:{name} -->")
    print(section)
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else (
        "# Benchmarks\n\nEvery section below is written by the command it names; do not edit by hand.\n")
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")
