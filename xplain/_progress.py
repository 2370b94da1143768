"""Progress bars: tqdm's notebook widget where ipywidgets is installed, plain tqdm elsewhere.

``tqdm.auto`` picks the widget inside Jupyter, but without ipywidgets it warns
(``TqdmWarning: IProgress not found``) when first imported, then falls back to the text
bar. transformers imports it on its own import, so every notebook that loads a Hugging
Face model started with that red warning, which the user never asked about and need not
act on. :func:`import_tqdm_auto` takes the same fallback without the warning, once per
process, before xplain or a library it imports needs ``tqdm.auto``.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from collections.abc import Iterable
from typing import Any

from tqdm.std import TqdmWarning
from tqdm.std import tqdm as text_tqdm


def import_tqdm_auto() -> None:
    """Import ``tqdm.auto`` in a Jupyter kernel without ipywidgets, minus its warning.

    A no-op outside a kernel, where ipywidgets is installed (the widget works), or once
    ``tqdm.auto`` is imported. Later imports of it, by xplain or by transformers, get the
    module imported here.
    """
    if (
        "ipykernel.zmqshell" not in sys.modules
        or "tqdm.auto" in sys.modules
        or importlib.util.find_spec("ipywidgets") is not None
    ):
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "IProgress not found", TqdmWarning)
        import tqdm.auto  # noqa: F401  (the text bar: ipywidgets is missing)


def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> text_tqdm:
    """A tqdm progress bar over ``iterable``: a widget in Jupyter where it can be one.

    Parameters:
        iterable: what to iterate over, or None for a bar updated by hand.
        **options: tqdm's keyword arguments (``total``, ``desc``, ``disable``, ``file``...).
    """
    import_tqdm_auto()
    from tqdm.auto import tqdm

    return tqdm(iterable, **options)
