"""The README's Python code blocks run as written, in order, in one namespace.

Every fenced ``python`` block of README.md is executed top to bottom in a fresh interpreter
whose working directory is a temporary folder (files the blocks write land there); a
failure names the block's line in README.md, and tracebacks point at README lines. A
statement whose comment shows a dict of numbers (``e.diagnostics  # {'n_steps': 32, ...}``)
must give those numbers, to the digits shown. A block preceded by
``<!-- readme-test: needs MODULE -->`` runs only where MODULE imports (e.g. pyspark).
Bash blocks are not run.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NEEDS = re.compile(r"<!--\s*readme-test:\s*needs\s+([\w.]+)\s*-->")

# Runs in the subprocess: argv = [README path, line numbers of the blocks to run].
RUNNER = r'''
import ast, re, sys, time, traceback

SHOWN = re.compile(r"#\s*(\{.*\})\s*$")
PAIR = re.compile(r"'(\w+)':\s*(-?[\d.]+(?:e-?\d+)?)")


def check_shown(value, comment, where):
    """Each 'key': number of the comment equals value[key] to the digits shown."""
    for key, shown in PAIR.findall(comment):
        got = value[key]
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        if round(float(got), decimals) != float(shown):
            raise AssertionError(f"{where}: the README shows {key}={shown}, the code gives {got}")


lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
namespace = {"__name__": "__readme__"}
for start in map(int, sys.argv[2:]):
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    source = "\n" * start + "\n".join(lines[start:end])  # code lines keep their README numbers
    began = time.perf_counter()
    try:
        for statement in ast.parse(source, "README.md").body:
            module = ast.Module([statement], type_ignores=[])
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), "README.md", "eval"),
                             namespace)
                comment = SHOWN.search(lines[statement.end_lineno - 1])
                if comment:
                    check_shown(value, comment.group(1), f"README.md:{statement.end_lineno}")
            else:
                exec(compile(module, "README.md", "exec"), namespace)
    except BaseException:
        print(f"README.md: the python block at line {start} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
    print(f"block at line {start}: {time.perf_counter() - began:.1f} s", flush=True)
'''


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    code: str
    needs: str | None  # a module the block needs, from a readme-test comment


def python_blocks(text: str) -> list[Block]:
    """Every fenced python block of ``text``, with the module it declares it needs."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            needs = NEEDS.search(before)
            blocks.append(Block(i + 1, "\n".join(lines[i + 1 : end]), needs and needs.group(1)))
            i = end
        i += 1
    return blocks


def test_the_readme_blocks_are_found_and_compile():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        compile(block.code, f"README.md block at line {block.line}", "exec")


def test_python_blocks_are_parsed_with_their_needs():
    text = "x\n```python\na = 1\n```\n\n<!-- readme-test: needs pyspark -->\n\n```python\nb\n```"
    assert python_blocks(text) == [Block(2, "a = 1", None), Block(8, "b", "pyspark")]


@pytest.mark.slow
def test_the_readme_python_blocks_run_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never the network
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.needs is None or importlib.util.find_spec(b.needs)]
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(README), *(str(b.line) for b in runnable)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-6000:]
    assert done.stdout.count("block at line") == len(runnable)
