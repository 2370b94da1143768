"""The ``xplain`` command answers help, version, listing and user errors without the heavy
libraries: each command runs in a fresh interpreter, which then reports what it imported."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "sklearn", "shap", "pyarrow", "matplotlib", "pandas", "scipy")

# runs ``xplain ARGS`` as the installed script does, then prints the exit code and the
# heavy top-level packages it imported, as the last line of stderr
PROBE = f"""
import json, runpy, sys
sys.argv = ["xplain", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_module("xplain.cli", run_name="__main__")
except SystemExit as stop:
    code = stop.code
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print("\\n" + json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def xplain(*args: str) -> tuple[int, list[str], str, str]:
    """Exit code, heavy packages imported, stdout and stderr (without the probe's line)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    *lines, report = done.stderr.rstrip("\n").split("\n")
    found = json.loads(report)
    return found["code"], found["heavy"], done.stdout, "\n".join(lines)


@pytest.mark.parametrize(
    "args",
    [("--help",), ("text", "--help"), ("table", "--help"), ("methods", "--help")],
)
def test_help_imports_nothing_heavy(args):
    code, heavy, out, _ = xplain(*args)
    assert (code, heavy) == (0, [])
    assert out.startswith("Usage: xplain")


def test_version_imports_nothing_heavy():
    from xplain import __version__

    code, heavy, out, _ = xplain("--version")
    assert (code, heavy) == (0, [])
    assert out.strip() == f"xplain, version {__version__}"


def test_demo_help_names_every_demo_and_method_it_runs():
    code, heavy, out, _ = xplain("demo", "--help")
    assert (code, heavy) == (0, [])
    from xplain import demo  # what the demo runs, against what its help says

    for section in ("text", "tabular", "image", "SST-2", "Adult", "digits"):
        assert section in out, section
    squeezed = re.sub(r"[\s_-]", "", out.lower())  # "Grad-CAM" / "grad_cam" -> "gradcam"
    for name in (*demo.TEXT_METHODS, *demo.TREE_METHODS, *demo.IMAGE_METHODS):
        assert name.replace("_", "") in squeezed, name


@pytest.mark.parametrize("modality", [None, "tabular", "image", "text"])
def test_methods_lists_without_torch_or_pandas(modality):
    from xplain.registry import available_methods

    args = ("methods",) if modality is None else ("methods", "--modality", modality)
    code, heavy, out, _ = xplain(*args)
    assert (code, heavy) == (0, [])
    lines = out.splitlines()
    assert lines[0].split() == ["name", "family", "modalities", "needs", "models"]
    listed = [line.split()[0] for line in lines[1 : lines.index("")]]
    frame = available_methods()  # the library's own listing, in this process
    if modality is not None:
        frame = frame[frame["modalities"].str.split(", ").map(lambda m: modality in m)]
    assert listed == list(frame["name"])


def test_methods_for_tables_says_which_need_a_torch_model():
    code, heavy, out, _ = xplain("methods", "--modality", "tabular")
    assert (code, heavy) == (0, [])
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for gradient in ("integrated_gradients", "saliency", "deeplift"):
        assert rows[gradient].endswith("differentiable (torch) models only")
    for anything in ("lime", "kernel_shap", "occlusion", "exact_shapley"):
        assert rows[anything].endswith("any model")
    assert rows["tree_shap"].endswith("tree ensembles only")
    assert "cannot explain scikit-learn, xgboost or lightgbm models" in out


def test_unknown_modality_is_a_user_error():
    code, heavy, _, err = xplain("methods", "--modality", "audio")
    assert (code, heavy) == (2, [])
    assert "'audio' is not one of 'text', 'tabular', 'image'" in err


def test_unknown_method_is_a_user_error_without_torch(tmp_path):
    code, heavy, _, err = xplain(
        "text", "--model", str(tmp_path), "--text", "a film", "--methods", "saliency,limee"
    )
    assert (code, heavy) == (2, [])
    assert "Unknown method 'limee'. Did you mean 'lime'?" in err
    assert "Traceback" not in err


def test_unknown_option_is_a_user_error_without_torch():
    code, heavy, _, err = xplain("text", "--method", "lime", "a film")
    assert (code, heavy) == (2, [])
    assert "No such option '--method'" in err and "--methods" in err


def test_missing_files_are_user_errors_without_torch(tmp_path):
    code, heavy, _, err = xplain("text", "--model", str(tmp_path / "none"), "--text", "a film")
    assert (code, heavy) == (2, [])
    assert "is not a directory" in err
    missing = str(tmp_path / "model.skops")
    code, heavy, _, err = xplain("table", "--model", missing, "--data", "x.csv", "--row", "0")
    assert (code, heavy) == (2, [])
    assert "does not exist" in err


def test_a_bad_param_option_is_a_user_error_without_torch(tmp_path):
    code, heavy, _, err = xplain(
        "text", "--model", str(tmp_path), "--text", "a film", "--methods", "lime",
        "--param", "lime.num_samples",
    )  # fmt: skip
    assert (code, heavy) == (2, [])
    assert "--param must look like METHOD.NAME=VALUE" in err
