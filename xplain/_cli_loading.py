"""What the ``xplain`` command loads: models from local files, CSV rows, and its errors."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

MODEL_SUFFIXES = {".skops": "skops", ".joblib": "joblib", ".pkl": "joblib", ".pickle": "joblib"}


# -- errors ------------------------------------------------------------------------------
class UserError(click.ClickException):
    """A mistake of the user: one line on stderr, exit code 2."""

    exit_code = 2


class InternalError(click.ClickException):
    """An unexpected failure (a bug): one line on stderr, exit code 1."""

    exit_code = 1


def one_line(message: str) -> str:
    return " ".join(str(message).split())


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """HF_HUB_OFFLINE=1 while the command runs: a local folder never needs the network."""
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["HF_HUB_OFFLINE"]
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


def custom_code_files(folder: Path) -> list[str]:
    """The files of a model folder that ask transformers to run the folder's own code.

    A ``config.json`` or ``tokenizer_config.json`` with an ``auto_map`` entry names Python
    classes from ``*.py`` files in the folder; loading them imports (runs) those files.
    """
    import json

    asking = []
    for name in ("config.json", "tokenizer_config.json"):
        path = folder / name
        try:
            settings = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, ValueError):
            continue  # an unreadable file is reported by from_pretrained itself
        if isinstance(settings, dict) and settings.get("auto_map"):
            asking.append(name)
    return asking


def load_text_model(folder: Path, *, trust_model: bool = False) -> tuple[Any, Any]:
    """A sequence classifier and its tokenizer from a local folder, offline.

    Code shipped in the folder (``auto_map`` in its configuration) runs only with
    ``trust_model=True`` (``--trust-model``); otherwise it is refused before anything is
    imported, and transformers is told ``trust_remote_code=False``, so it never prompts.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    asking = custom_code_files(folder)
    if asking and not trust_model:
        raise UserError(
            f"Refusing to load {folder}: its {' and '.join(asking)} name Python code from the "
            "folder (auto_map), and loading it would run that code. If you wrote the model "
            "or trust its source, rerun with --trust-model."
        )
    options = {"local_files_only": True, "trust_remote_code": trust_model}
    try:
        model = AutoModelForSequenceClassification.from_pretrained(folder, **options)
        tokenizer = AutoTokenizer.from_pretrained(folder, **options)
    except (OSError, ValueError, KeyError) as err:
        raise UserError(
            f"Cannot load a sequence classifier and tokenizer from {folder}: {one_line(err)[:300]}"
        ) from err
    return model.eval(), tokenizer


def read_csv(path: Path) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"Cannot read {path.name} as CSV: {one_line(err)}") from err
    if frame.empty:
        raise UserError(f"{path.name} has no data rows.")
    return frame


def load_table_model(path: Path, kind: str) -> Any:
    try:
        if kind == "skops":
            import skops.io

            return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
        import joblib

        return joblib.load(path)
    except Exception as err:  # a corrupt file, or a class that is not importable here
        raise UserError(
            f"Cannot load {path.name} with {kind} ({type(err).__name__}: {one_line(err)})"
        ) from err


def feature_columns(
    frame: Any, model: Any, label_column: str | None
) -> tuple[list[str], str | None]:
    """The model's input columns of ``frame``, and the label column if one is known."""
    columns = [str(c) for c in frame.columns]
    if label_column is not None:
        if label_column not in columns:
            raise UserError(
                f"--label-column {label_column!r} is not a column of the CSV; its columns "
                f"are: {', '.join(columns)}."
            )
        return [c for c in columns if c != label_column], label_column
    expected = getattr(model, "feature_names_in_", None)
    if expected is None:
        return columns, None
    expected = [str(c) for c in expected]
    missing = [c for c in expected if c not in columns]
    if missing:
        raise UserError(
            f"The CSV lacks the model's input columns {', '.join(missing)}; it has: "
            f"{', '.join(columns)}."
        )
    extra = [c for c in columns if c not in expected]
    return expected, (extra[0] if len(extra) == 1 else None)
