"""xplain's progress bars in a Jupyter kernel without ipywidgets: a text bar, no TqdmWarning."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

# A Jupyter kernel as tqdm.autonotebook recognises one, in a fresh interpreter.
FAKE_KERNEL = """
import sys, types
shell = type("ZMQInteractiveShell", (), {})()
ipython = types.ModuleType("IPython")
ipython.get_ipython = lambda: shell
sys.modules.update({"IPython": ipython, "ipykernel.zmqshell": types.ModuleType("zmqshell")})
"""


def in_fake_kernel(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", FAKE_KERNEL + code],
        capture_output=True,
        text=True,
        timeout=60,
    )


NO_IPYWIDGETS = pytest.mark.skipif(
    importlib.util.find_spec("ipywidgets") is not None, reason="ipywidgets is installed"
)


@NO_IPYWIDGETS
def test_a_kernel_without_ipywidgets_gets_a_text_bar_and_no_warning():
    # The fake kernel is one tqdm.auto recognises: importing it there warns.
    assert "TqdmWarning: IProgress not found" in in_fake_kernel("import tqdm.auto").stderr
    done = in_fake_kernel(
        "import tqdm.notebook, tqdm.std\n"
        "from xplain._progress import progress_bar\n"
        "bar = progress_bar(range(3), desc='rows')\n"
        "print(isinstance(bar, tqdm.std.tqdm), isinstance(bar, tqdm.notebook.tqdm), sum(bar))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "3"]
    assert "Warning" not in done.stderr
    assert "rows: 100%" in done.stderr  # the text bar, on stderr as tqdm draws it


@NO_IPYWIDGETS
def test_importing_xplain_first_keeps_transformers_from_warning():
    # transformers imports tqdm.auto when it is imported (every Hugging Face notebook)
    assert "IProgress not found" in in_fake_kernel("import transformers").stderr
    done = in_fake_kernel("import xplain, transformers")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
