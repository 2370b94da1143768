"""The documentation site: generated pages are fresh, and the strict MkDocs build passes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_docs_tables", ROOT / "scripts" / "gen_docs_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_pages_match_the_code() -> None:
    # methods.md, metrics.md, cli.md and api/*.md are generated from the registry, the
    # metrics, the CLI and xplain.__all__: a change there must regenerate them
    stale = _generator().stale_pages()
    assert not stale, (
        f"stale documentation pages {stale}: run .venv/bin/python scripts/gen_docs_tables.py"
    )


def test_method_table_lists_every_method_with_its_parameters() -> None:
    import xplain
    from xplain.registry import get_method

    page = _generator().methods_page()
    for name in xplain.available_methods().name:
        assert f"## `{name}` {{#{name}}}" in page
        for parameter, declared in get_method(name).parameters.items():
            assert f"| `{parameter}` | `{declared.default!r}` |" in page


def test_every_page_is_in_the_nav() -> None:
    def files(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, dict):
            return [f for value in nav.values() for f in files(value)]
        return [f for item in nav for f in files(item)]

    yaml = pytest.importorskip("yaml")  # installed with mkdocs (the docs extra)
    # the !!python/name tags mkdocs allows are not used: a safe load reads the file
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages == set(files(config["nav"]))


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="docs extra")
def test_strict_build(tmp_path: Path) -> None:
    # strict: any warning (a broken link, an unresolved API name, a bad docstring) fails
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    explainer_page = (tmp_path / "api" / "explainer" / "index.html").read_text("utf-8")
    assert "integrated_gradients" in explainer_page  # the explain() docstring rendered
    assert (tmp_path / "methods" / "index.html").is_file()
