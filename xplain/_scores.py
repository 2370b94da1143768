"""An explanation's scores in words and numbers, one answer for the plots and the HTML
reports: f(x), where it is known (the waterfall's f(x) line, the report's "f(x)"), and
what the base value is (the report's tooltip).

Plain data in, a number out: no matplotlib, no jinja.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xplain.explanation import Explanation


def explained_score(e: Explanation) -> float | None:
    """f(x): the explained score (``e.output`` of ``e.target``) at the instance, where known.

    ``base_value + delta`` where the method reports both (``delta`` = f(x) - f(reference),
    in the method's own units, e.g. log-odds), else the model's prediction where it is
    the explained score (``output`` ``"probability"``, or the ``"raw"`` output of a model
    whose ``prediction`` holds no class probabilities: a regression's); None otherwise
    (log-odds or margins of a method that reports no ``delta``: ``prediction`` holds
    probabilities). Never ``base_value + sum(values)``: that is f(x) only where the
    method's values add up (not LIME's, which add up to its surrogate's
    ``local_prediction``, nor a restricted explanation's).

    Parameters:
        e: The explanation.
    """
    delta = e.diagnostics.get("delta")
    base = e.base_value
    if base is not None and isinstance(delta, numbers.Real) and math.isfinite(delta):
        return float(base) + float(delta)
    # ``prediction`` holds a classifier's probabilities, a regression's outputs
    if e.output == "probability" or (e.output == "raw" and not e.prediction_is_probability):
        return float(e.prediction[e.target])
    return None


# the explained score in words, for the outputs whose name is not a noun phrase of its own
_OUTPUT_WORDS = {
    "raw": "raw output",
    "log_odds": "log-odds",
    "log_probability": "log-probability",
    "logits": "logit",
}


def output_words(output: str) -> str:
    """``e.output`` as reports and plots print it ("raw output", "log-odds", "logit",
    "probability"); an adapter's own output name as it is.

    Parameters:
        output: The explained output's name (``Explanation.output``).
    """
    return _OUTPUT_WORDS.get(output, output)


# what a base value is where the method does not say (diagnostics["base_value_source"]):
# the SHAP methods' background mean, or the baseline's score (integrated gradients, DeepLIFT)
GENERIC_BASE_VALUE_SOURCE = (
    "the score the values add up from: the expected output over the background (SHAP "
    "methods), or the baseline's score (integrated gradients, DeepLIFT)"
)


def base_value_source(e: Explanation) -> str | None:
    """What ``e.base_value`` is, in words: the method's own (``diagnostics
    ["base_value_source"]``, e.g. LIME's intercept, path-dependent tree_shap's training
    cover), else the general meaning; None without a base value.

    Parameters:
        e: The explanation.
    """
    if e.base_value is None:
        return None
    source = e.diagnostics.get("base_value_source")
    return str(source) if source else GENERIC_BASE_VALUE_SOURCE
