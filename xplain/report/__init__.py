"""HTML reports: self-contained pages (inline CSS, SVG and PNG; no scripts, no network).

Every string that comes from data or users (tokens, column names, labels, method names and
parameters, diagnostics) goes through an autoescaping Jinja2 template.

* one explanation: ``Explanation.to_html()`` / ``_repr_html_()`` / ``save_html(path)``
  (:func:`render_explanation`);
* several methods on one instance: ``Comparison.to_html()`` / ``_repr_html_()`` /
  ``save_html(path)`` (:func:`render_comparison`);
* one method over many instances (``Explainer.explain_batch``): :class:`BatchReport`,
  with ``importance()``, ``to_html()``, ``_repr_html_()`` and ``save_html(path)``, or the
  one-call functions :func:`render_batch` and :func:`save_batch_html`;
* titled sections of explanations on one page (the demo and CLI): :func:`render_document`;
* a plugin adapter's own display kind: :func:`register_display` (see :mod:`xplain.display`).

>>> es = explainer.explain_batch(rows, method="kernel_shap")
>>> xplain.report.BatchReport(es)                      # shows in Jupyter
>>> xplain.report.save_batch_html(es, "batch.html")
"""

from xplain.report.batch import BatchReport, render_batch, save_batch_html
from xplain.report.comparison import render_comparison
from xplain.report.render import colour, register_display, render_document, render_explanation

__all__ = [
    "BatchReport",
    "colour",
    "render_batch",
    "render_comparison",
    "render_document",
    "register_display",
    "render_explanation",
    "save_batch_html",
]
