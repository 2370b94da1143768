"""``make wheel-check``: build xplain's sdist and wheel, install the wheel in a fresh venv, run it.

Steps, each failing loudly:

1. ``python -m build`` writes the sdist and the wheel into a temporary folder; their
   metadata must name the distribution ``xplain-xai`` with ``License-Expression: MIT``, and
   the wheel must hold the report templates and CSS, the bundled data, ``py.typed`` and the
   LICENSE (the sdist the LICENSE too).
2. A fresh virtual environment gets torch first (pinned by ``requirements/constraints.txt``,
   as ``make venv`` installs it, so pip never picks a CUDA build), then the wheel with its
   ``demo`` extra, under the same constraints.
3. From a folder outside the repository (so the installed wheel is imported, not the source
   tree) with an empty model cache, ``xplain --version`` and ``xplain demo`` run; the demo
   must write its HTML report.

Run with the development venv's Python (it has ``build``):
``.venv/bin/python scripts/wheel_check.py [--keep]``.
"""

from __future__ import annotations

import argparse
import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
DIST_NAME = "xplain-xai"
# What the installed package reads at run time: a wheel without it imports, then fails.
WHEEL_FILES = (
    "xplain/py.typed",
    "xplain/report/static/xplain.css",
    "xplain/report/templates/page.html.j2",
    "xplain/report/templates/_explanation.html.j2",
    "xplain/report/templates/_comparison.html.j2",
    "xplain/data/sentiment_delta.safetensors",
    "xplain/data/sst2/dev.tsv",
    "xplain/data/adult/adult.csv",
)


class CheckFailed(RuntimeError):
    """One step of the wheel check did not give what it should."""


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``, echo it, and return its stdout; raise CheckFailed on a non-zero exit."""
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckFailed(f"{cmd[0]} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def check_metadata(raw: str, where: str) -> None:
    """The core metadata names the distribution xplain-xai under the MIT licence expression."""
    meta = email.parser.Parser().parsestr(raw, headersonly=True)
    if meta["Name"] != DIST_NAME or meta["License-Expression"] != "MIT":
        raise CheckFailed(
            f"{where}: Name={meta['Name']!r}, License-Expression={meta['License-Expression']!r};"
            f" expected {DIST_NAME!r} and 'MIT'"
        )


def check_archives(dist: Path) -> Path:
    """Check the wheel's and the sdist's contents and metadata; return the wheel's path."""
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        check_metadata(archive.read(info).decode(), wheel.name)
    missing = [name for name in WHEEL_FILES if name not in names]
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        missing.append("*.dist-info/licenses/LICENSE")
    if missing:
        raise CheckFailed(f"{wheel.name} lacks {missing}")
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        check_metadata(archive.extractfile(f"{top}/PKG-INFO").read().decode(), sdist.name)
        if f"{top}/LICENSE" not in archive.getnames():
            raise CheckFailed(f"{sdist.name} lacks LICENSE")
    print(f"contents and metadata of {wheel.name} and {sdist.name}: ok", flush=True)
    return wheel


def install(wheel: Path, env_dir: Path) -> Path:
    """A fresh venv with torch, then the wheel and its demo extra; return its bin folder."""
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS)]
    run([*pip, "torch"], cwd=env_dir)
    run([*pip, f"{wheel}[demo]"], cwd=env_dir)
    return env_dir / "bin"


def run_installed(bin_dir: Path, work: Path) -> None:
    """Import, ``xplain --version`` and a one-sentence ``xplain demo``, outside the repo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # An empty model cache: the demo builds its models from the wheel's own files, offline.
    env.update(XPLAIN_CACHE_DIR=str(work / "cache"), HF_HUB_OFFLINE="1")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    imported = run([str(bin_dir / "python"), "-c", "import xplain; print(xplain.__file__)"],
                   cwd=work, env=env).strip()
    if not Path(imported).is_relative_to(bin_dir.parent):
        raise CheckFailed(f"imported {imported}, not the installed wheel under {bin_dir.parent}")
    version = run([str(bin_dir / "xplain"), "--version"], cwd=work, env=env)
    if "version" not in version:
        raise CheckFailed(f"xplain --version printed {version!r}")
    report = work / "demo.html"
    start = time.perf_counter()
    run([str(bin_dir / "xplain"), "demo", "--sentences", "1", "--quiet", "--out", str(report)],
        cwd=work, env=env)
    if "<html" not in report.read_text(encoding="utf-8"):
        raise CheckFailed(f"xplain demo wrote no HTML report at {report}")
    print(f"{version.strip()}: imported from {imported}; xplain demo wrote {report.name} "
          f"in {time.perf_counter() - start:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Build, check, install in a fresh venv and run; ``--keep`` keeps the temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="xplain-wheel-check-"))
    start = time.perf_counter()
    try:
        run([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(ROOT)], cwd=tmp)
        wheel = check_archives(tmp / "dist")
        bin_dir = install(wheel, tmp / "venv")
        (tmp / "work").mkdir()
        run_installed(bin_dir, tmp / "work")
    except CheckFailed as err:
        sys.exit(f"wheel-check FAILED: {err}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"wheel-check passed in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
