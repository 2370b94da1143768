"""The README's Python code blocks run as written, in order, in one namespace.

Every fenced ``python`` block of README.md is executed top to bottom in a fresh interpreter
whose working directory is a temporary folder (files the blocks write land there); a
failure names the block's line in README.md, and tracebacks point at README lines. A
statement whose comment shows a dict of numbers (``e.diagnostics  # {'n_steps': 32, ...}``)
must give those numbers, to the digits shown. A block preceded by
``<!-- readme-test: needs MODULE -->`` runs only where MODULE imports (e.g. pyspark).
Bash blocks are not run. tests/test_docs_examples.py runs the documentation pages' blocks
with the same runner (:func:`run_python_blocks`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NEEDS = re.compile(r"<!--\s*readme-test:\s*needs\s+([\w.]+)\s*-->")

# Runs in the subprocess: argv = [page path, its name in messages, lines of the blocks to run].
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
            raise AssertionError(f"{where} shows {key}={shown}, the code gives {got}")


lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
name = sys.argv[2]
namespace = {"__name__": "__readme__"}
for start in map(int, sys.argv[3:]):
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    source = "\n" * start + "\n".join(lines[start:end])  # code lines keep their page numbers
    began = time.perf_counter()
    try:
        for statement in ast.parse(source, name).body:
            module = ast.Module([statement], type_ignores=[])
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), name, "eval"),
                             namespace)
                comment = SHOWN.search(lines[statement.end_lineno - 1])
                if comment:
                    check_shown(value, comment.group(1), f"{name}:{statement.end_lineno}")
            else:
                exec(compile(module, name, "exec"), namespace)
    except BaseException:
        print(f"{name}: the python block at line {start} failed:", file=sys.stderr)
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


def run_python_blocks(page: Path, name: str, cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``page``'s python blocks in order, in one namespace, in a fresh interpreter in ``cwd``.

    Parameters:
        page: the Markdown file.
        name: how messages and tracebacks name the page (e.g. ``docs/comparing.md``).
        cwd: the working directory (files the blocks write land there).

    Returns the finished process and the number of blocks run (those whose ``needs`` module
    imports). Offline (``HF_HUB_OFFLINE=1``), with matplotlib's ``Agg`` backend.
    """
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    runnable = [b for b in blocks if b.needs is None or importlib.util.find_spec(b.needs)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}  # never the network
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(page), name, *(str(b.line) for b in runnable)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return done, len(runnable)


def test_the_readme_blocks_are_found_and_compile():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    for block in blocks:
        compile(block.code, f"README.md block at line {block.line}", "exec")


def test_python_blocks_are_parsed_with_their_needs():
    text = "x\n```python\na = 1\n```\n\n<!-- readme-test: needs pyspark -->\n\n```python\nb\n```"
    assert python_blocks(text) == [Block(2, "a = 1", None), Block(8, "b", "pyspark")]


@pytest.mark.slow
def test_the_readme_python_blocks_run_as_written(tmp_path):
    done, n_blocks = run_python_blocks(README, "README.md", tmp_path)
    assert done.returncode == 0, done.stderr[-6000:]
    assert done.stdout.count("block at line") == n_blocks
