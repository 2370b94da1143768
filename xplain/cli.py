"""The ``xplain`` command: explain a text or tabular model from the shell.

    xplain text --model DIR --text "a gripping film" --methods saliency,lime --out r.html
    xplain table --model model.skops --trust-model --data rows.csv --row 3 --out r.html
    xplain methods
    xplain demo --out out/xplain-demo.html

Exit codes: 0 success, 1 an unexpected internal error (a bug: please report it; ``xplain
--debug ...`` shows the traceback), 2 a user error (bad arguments, missing files, or an
:class:`xplain.XplainError` raised by the library), reported as one line on stderr.

The library (torch, transformers, pandas) is imported only by the commands that explain:
``--help``, ``--version``, ``xplain methods`` and argument errors answer at once.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from xplain._cli_loading import (
    MODEL_SUFFIXES,
    InternalError,
    UserError,
    feature_columns,
    load_table_model,
    load_text_model,
    offline,
    one_line,
    read_csv,
)
from xplain._version import __version__
from xplain.adapters._builtin import BUILT_IN
from xplain.errors import XplainError

DEFAULT_TEXT_METHOD = "integrated_gradients"
DEFAULT_TABLE_METHOD = "kernel_shap"  # runs on any model (no gradients or trees needed)
_TRUST_HELP = (
    "Allow loading the model file. Loading a joblib/pickle file runs any code it contains, "
    "and a .skops file may name types outside skops' safe list; pass this flag only for "
    "files you made yourself or trust."
)


class _Group(click.Group):
    """Turns library errors into exit code 2 and unexpected ones into exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if isinstance(err, XplainError):
                raise UserError(one_line(err)) from err
            raise InternalError(
                f"internal error ({type(err).__name__}: {one_line(err)}). This is a bug in "
                "xplain; rerun with 'xplain --debug ...' for the traceback and report it."
            ) from err


# -- progress and output -----------------------------------------------------------------
class _Steps:
    """A tqdm bar over the named steps of a command (on stderr; silent with --quiet)."""

    def __init__(self, steps: Sequence[str], quiet: bool) -> None:
        self._quiet, self._total, self._done = quiet, len(steps), 0
        self._bar: Any = self._open()
        self._start = self._bar.start_t if not quiet else 0.0

    def _open(self) -> Any:
        """The bar, at the steps done so far."""
        from xplain._progress import progress_bar

        bar = progress_bar(
            total=self._total,
            initial=self._done,
            file=sys.stderr,
            disable=self._quiet,
            bar_format="{desc:<40} {n_fmt}/{total_fmt} [{elapsed}]",
            leave=False,
        )
        if self._done and not self._quiet:
            bar.start_t = self._start  # elapsed: since the command started
        return bar

    @contextlib.contextmanager
    def step(self, description: str, *, own_bar: bool = False) -> Iterator[None]:
        """A step named ``description``; ``own_bar``: the step shows a bar of its own
        (compare's, one per method), so this one steps aside until the next step (two
        bars at once would move the cursor with escape codes between stderr lines)."""
        if self._bar is None:
            self._bar = self._open()
        if own_bar:
            self._bar.close()
            self._bar = None
        else:
            short = description if len(description) <= 40 else description[:39] + "…"
            self._bar.set_description_str(short)
        yield
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)

    @property
    def shown(self) -> bool:
        """Whether progress is shown (not --quiet)."""
        return not self._quiet

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextlib.contextmanager
def _steps(steps: Sequence[str], quiet: bool, *, transformers: bool = False) -> Iterator[_Steps]:
    bar = _Steps(steps, quiet)
    try:
        with _silenced(quiet, transformers):
            yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def _silenced(quiet: bool, transformers: bool) -> Iterator[None]:
    """With --quiet, hide warnings; hide transformers' own progress bars (ours cover them)."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        if not transformers:
            yield
            return
        from transformers.utils import logging as hf_logging

        verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        if quiet:
            hf_logging.set_verbosity_error()
        try:
            yield
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()


# -- option parsing ----------------------------------------------------------------------
def _parse_methods(value: str | None, default: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``, each name checked against the registry (did-you-mean)."""
    if value is None:
        return [default]
    from xplain.registry import check_method_name

    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise UserError("--methods must name at least one method, e.g. --methods saliency,lime.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"--methods names {', '.join(repeated)} more than once.")
    for name in names:
        check_method_name(name)  # UnknownMethodError (did-you-mean): exit code 2
    return names


def _parse_value(text: str) -> Any:
    """A --param value as bool, None, int, float or (otherwise) the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_params(given: Sequence[str], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["lime.num_samples=200"]`` -> ``{"lime": {"num_samples": 200}}``."""
    params: dict[str, dict[str, Any]] = {}
    for item in given:
        key, sep, value = item.partition("=")
        method, dot, name = key.strip().partition(".")
        if not (sep and dot and method and name):
            raise UserError(
                f"--param must look like METHOD.NAME=VALUE (e.g. lime.num_samples=200). "
                f"Got {item!r}."
            )
        if method not in methods:
            from xplain._validation import did_you_mean

            raise UserError(
                f"--param {item!r} is for method {method!r}, which is not among --methods "
                f"({', '.join(methods)}).{did_you_mean(method, methods)}"
            )
        params.setdefault(method, {})[name.strip()] = _parse_value(value)
    return params


def _resolve_target(
    value: str | None, index: int | None, labels: Sequence[str]
) -> int | str | None:
    """The library's target for ``--target`` / ``--target-index`` (Explainer.explain's rule).

    ``--target`` is a class label; a number that no class has as its label is an index; a
    number that is a valid index and the label of another class is refused (which one?).
    ``--target-index`` is always an index, passed on as its class's label so that the
    library does not ask again.
    """
    if value is not None and index is not None:
        raise UserError("Give --target or --target-index, not both.")
    if index is not None:
        if labels and not 0 <= index < len(labels):
            raise UserError(
                f"--target-index {index} is out of range: the model has {len(labels)} "
                f"classes, so it must be in 0..{len(labels) - 1}."
            )
        return labels[index] if labels else index
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return value  # a label; the library says which labels exist
    from xplain.explainer import labelled

    named = labelled(number, labels)
    if named is None:
        return number
    if named == number or not 0 <= number < len(labels):
        return labels[named]
    raise UserError(
        f"--target {value} is ambiguous: the class labelled {labels[named]!r} is index "
        f"{named}, and index {number} is the class labelled {labels[number]!r}. Say which "
        f"with --target-index {named} or --target-index {number}."
    )


# -- explaining and reporting ------------------------------------------------------------
def _explain(
    explainer: Any,
    instance: Any,
    methods: list[str],
    target: tuple[str | None, int | None],
    params: Mapping[str, Mapping[str, Any]],
    bar: _Steps,
    evaluate: bool,
) -> Any:
    """One Explanation for one method; a Comparison for several, or for one with
    ``evaluate`` (its report shows the metrics). ``target``: the options. Explainer.compare
    validates every method before the model runs and shows a bar naming the method that
    runs, with a line per method done."""
    resolved = _resolve_target(*target, explainer.adapter.labels)
    if len(methods) == 1 and not evaluate:
        with bar.step(f"explaining: {methods[0]}"):
            return explainer.explain(instance, methods[0], resolved, **params.get(methods[0], {}))
    with bar.step(f"explaining: {', '.join(methods)}", own_bar=True):
        return explainer.compare(
            instance, list(methods), resolved, params=params, progress=bar.shown
        )


def _write_report(result: Any, out: Path) -> Path:
    """The HTML report (an Explanation's or a Comparison's save_html)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.save_html(out)
    except OSError as err:
        raise UserError(f"Cannot write the report to {out}: {err.strerror or err}.") from err
    return out.resolve()


def _summary(result: Any, top: int) -> str:
    explanations = dict(getattr(result, "explanations", None) or {result.method: result})
    first = next(iter(explanations.values()))
    lines = [
        f"Predicted: {first.predicted_label} (p={first.prediction[first.predicted_class]:.3f}); "
        f"explained class: {first.target_label} ({first.prediction_text()})"
        if first.prediction_is_probability
        else f"Explained output: {first.target_label} ({first.prediction_text()})"
    ]
    width = max(len(name) for name in explanations)
    for name, explanation in explanations.items():
        best = explanation.top(top)
        pairs = zip(best["feature"], best["value"], strict=True)
        tops = ", ".join(f"{feature!r} {value:+.3g}" for feature, value in pairs)
        lines.append(f"  {name:<{width}}  {tops}")
    return "\n".join(lines)


def _report_steps(methods: Sequence[str], evaluate: bool) -> list[str]:
    return [
        f"explaining: {', '.join(methods)}",  # compare's own bar counts the methods
        *(["evaluating metrics"] if evaluate else []),
        "writing report",
    ]


def _finish(result: Any, out: Path, options: Mapping[str, Any], bar: _Steps) -> None:
    """Evaluate the metrics if asked, write the report, print the summary and path."""
    if options["evaluate"]:
        with bar.step("evaluating metrics"):
            result.evaluate()  # kept by the Comparison: its report shows them
    with bar.step("writing report"):
        path = _write_report(result, out)
    bar.close()
    if not options["quiet"]:
        click.echo(_summary(result, options["top"]))
    click.echo(f"Report written to {path}" if not options["quiet"] else str(path))


# -- shared options ----------------------------------------------------------------------
def _common(command: Any) -> Any:
    """Options of both explaining commands."""
    options = [
        click.option(
            "--methods",
            metavar="NAMES",
            help="Comma-separated method names (see 'xplain methods'). Several are compared "
            "side by side. Default: "
            f"{DEFAULT_TEXT_METHOD} for text, {DEFAULT_TABLE_METHOD} for tables.",
        ),
        click.option(
            "--target",
            metavar="CLASS",
            help="Class to explain: a label (e.g. positive), or an index when no class has "
            "that number as its label. A number that is a label of one class and the index "
            "of another is refused: say which with --target-index. Default: the predicted "
            "class.",
        ),
        click.option(
            "--target-index",
            type=int,
            metavar="INDEX",
            help="Class to explain by its index (0 = first class), whatever the labels.",
        ),
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="METHOD.NAME=VALUE",
            help="A method parameter, e.g. --param lime.num_samples=200 (repeatable; values "
            "become int, float, true/false, none or text).",
        ),
        click.option(
            "--out",
            type=click.Path(dir_okay=False, path_type=Path),
            default="xplain-report.html",
            show_default=True,
            help="HTML report to write.",
        ),
        click.option(
            "--evaluate/--no-evaluate",
            "--metrics/--no-metrics",
            "evaluate",
            default=False,
            show_default=True,
            help="Score each method with the faithfulness metrics of Comparison.evaluate "
            "and show them in the report (extra model calls, often more than explaining). "
            "--metrics is the older name of --evaluate.",
        ),
        click.option(
            "--top",
            type=click.IntRange(min=1),
            default=5,
            show_default=True,
            help="Features per method in the printed summary.",
        ),
        click.option(
            "--quiet",
            "-q",
            is_flag=True,
            help="No progress bars, warnings or summary; print only the report's path.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# -- commands ----------------------------------------------------------------------------
@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="xplain")
@click.option("--debug", is_flag=True, help="Show the full traceback of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Explain text and tabular models with gradient and perturbation methods.

    \b
    Examples:
      xplain text --model ./my-model --text "a gripping film" --methods saliency,lime
      xplain table --model model.skops --trust-model --data rows.csv --row 3
      xplain methods --modality tabular

    Exit codes: 0 success, 2 a user error (bad arguments, missing files, a problem the
    library reports), 1 an unexpected internal error.
    """
    ctx.obj = {"debug": debug}


@cli.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    metavar="DIR",
    help="Local folder of a Hugging Face sequence classifier and its tokenizer (as written "
    "by save_pretrained). Hub names are refused: nothing is downloaded.",
)
@click.option("--text", required=True, help="The text to explain.")
@click.option(
    "--trust-model",
    is_flag=True,
    help="Allow the model folder's own Python code (auto_map in its config) to run while "
    "loading. Without it such a folder is refused; pass it only for models you trust.",
)
@_common
def text(
    model_dir: str,
    text: str,
    trust_model: bool,
    methods: str | None,
    target: str | None,
    target_index: int | None,
    params: tuple[str, ...],
    out: Path,
    evaluate: bool,
    top: int,
    quiet: bool,
) -> None:
    """Explain a text classifier's prediction, token by token.

    Loads AutoModelForSequenceClassification and AutoTokenizer from a local folder
    (offline) and writes an HTML report; several --methods are compared side by side.
    Code shipped in the folder runs only with --trust-model.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise UserError(
            f"--model must be an existing local folder (from save_pretrained); {model_dir!r} "
            "is not a directory. Hub names are not downloaded: save the model locally first."
        )
    names = _parse_methods(methods, DEFAULT_TEXT_METHOD)
    method_params = _parse_params(params, names)
    if not text.strip():
        raise UserError("--text is empty; give the text to explain.")
    steps = ["loading model", *_report_steps(names, evaluate)]
    with offline(), _steps(steps, quiet, transformers=True) as bar:
        with bar.step(f"loading model from {folder.name}"):
            model, tokenizer = load_text_model(folder, trust_model=trust_model)
        from xplain.explainer import Explainer

        explainer = Explainer(model, tokenizer=tokenizer)
        targets = (target, target_index)
        result = _explain(explainer, text, names, targets, method_params, bar, evaluate)
        _finish(result, out, {"evaluate": evaluate, "quiet": quiet, "top": top}, bar)


@cli.command()
@click.option(
    "--model",
    "model_file",
    required=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A fitted scikit-learn-compatible model saved with skops (.skops) or joblib "
    "(.joblib, .pkl). Needs --trust-model.",
)
@click.option("--trust-model", is_flag=True, help=_TRUST_HELP)
@click.option(
    "--data",
    "data_file",
    required=True,
    metavar="CSV",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with a header row: the row to explain and the background rows.",
)
@click.option(
    "--row",
    required=True,
    type=int,
    help="Position of the row to explain among the CSV's data rows (0 = first row after "
    "the header).",
)
@click.option(
    "--label-column",
    metavar="NAME",
    help="Column of the CSV that is not a model input (e.g. the true label): dropped from "
    "the row and the background. Default: if the model records its input columns "
    "(feature_names_in_), every other CSV column is dropped; else all columns are inputs.",
)
@click.option(
    "--background-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Background rows: a seeded random sample of the CSV's rows (all rows if fewer).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@_common
def table(
    model_file: Path,
    trust_model: bool,
    data_file: Path,
    row: int,
    label_column: str | None,
    background_size: int,
    seed: int,
    methods: str | None,
    target: str | None,
    target_index: int | None,
    params: tuple[str, ...],
    out: Path,
    evaluate: bool,
    top: int,
    quiet: bool,
) -> None:
    """Explain a tabular model's prediction for one CSV row, per column.

    The model must accept a DataFrame of the CSV's input columns (e.g. a scikit-learn
    Pipeline fitted on one). Absent columns take values from the background rows.
    """
    kind = MODEL_SUFFIXES.get(model_file.suffix.lower())
    if kind is None:
        raise UserError(
            f"--model {model_file.name}: unknown file type {model_file.suffix!r}; expected "
            f"one of {', '.join(MODEL_SUFFIXES)}."
        )
    if not trust_model:
        why = (
            "unpickling a joblib/pickle file runs arbitrary code hidden in it"
            if kind == "joblib"
            else "the CLI trusts every type a .skops file names, and types outside skops' "
            "safe list can run arbitrary code when loaded"
        )
        raise UserError(
            f"Refusing to load {model_file.name} without --trust-model: {why}. If you made "
            "the file yourself or trust its source, rerun with --trust-model."
        )
    names = _parse_methods(methods, DEFAULT_TABLE_METHOD)
    method_params = _parse_params(params, names)
    frame = read_csv(data_file)
    if not 0 <= row < len(frame):
        raise UserError(
            f"--row {row} is out of range: {data_file.name} has {len(frame)} data rows, "
            f"so --row must be in 0..{len(frame) - 1}."
        )
    steps = ["loading model", "building explainer", *_report_steps(names, evaluate)]
    with _steps(steps, quiet) as bar:
        with bar.step(f"loading {model_file.name}"):
            model = load_table_model(model_file, kind)
        features, _ = feature_columns(frame, model, label_column)
        data = frame[features]
        with bar.step("building explainer"):
            from xplain.explainer import Explainer

            explainer = Explainer(
                model,
                data=data,
                background_size=background_size,
                background_method="sample",
                seed=seed,
            )
        targets = (target, target_index)
        result = _explain(explainer, data.iloc[row], names, targets, method_params, bar, evaluate)
        _finish(result, out, {"evaluate": evaluate, "quiet": quiet, "top": top}, bar)


@cli.command()
@click.option(
    "--modality",
    type=click.Choice(list(BUILT_IN)),
    help="Only the methods this built-in adapter can run.",
)
def methods(modality: str | None) -> None:
    """List the registered explanation methods.

    The modalities column names the built-in adapters offering a method's view type;
    models says which models can give that view: gradient methods need a differentiable
    (torch) model, so they cannot explain scikit-learn or tree models.
    """
    from xplain.registry import method_rows
    from xplain.views import DifferentiableView, InterpretableView

    rows = [r for r in method_rows() if modality is None or modality in r["modalities"].split(", ")]
    click.echo(_table(rows, ("name", "family", "modalities", "needs", "models")))
    if any(row["models"] == DifferentiableView.models for row in rows):
        click.echo(
            f"\nMethods marked {DifferentiableView.models!r} need the model's gradients, so "
            "they cannot explain scikit-learn, xgboost or lightgbm models; those marked "
            f"{InterpretableView.models!r} can."
        )


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default="out/xplain-demo.html",
    show_default=True,
    help="HTML report to write.",
)
@click.option(
    "--sentences",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="SST-2 dev sentences for the text demo.",
)
@click.option(
    "--images",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Test digits for the image demo.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the report's path.")
def demo(out: Path, sentences: int, images: int, quiet: bool) -> None:
    """Run the three offline demos and write them to one HTML report.

    \b
    Runs xplain.demo with the models bundled for it (nothing is downloaded):
      text     SST-2 dev sentences, token by token, with the MiniLM sentiment model
               (saliency, input x gradient, integrated gradients, SmoothGrad);
      tabular  one Adult income row: gradient-boosted trees compared by LIME,
               KernelSHAP and TreeSHAP with faithfulness metrics, and an MLP by
               integrated gradients;
      image    scikit-learn digits, pixel by pixel, with a small CNN (saliency,
               SmoothGrad, integrated gradients, Grad-CAM, XRAI side by side).
    """
    from xplain.demo import main as demo_main

    argv = ["--out", str(out), "--sentences", str(sentences), "--images", str(images)]
    if not quiet:
        with _silenced(False, transformers=True):
            demo_main(argv)
        return
    with _silenced(True, transformers=True), contextlib.redirect_stdout(io.StringIO()):
        path = demo_main(argv)
    click.echo(str(Path(path).resolve()))


def _table(rows: Sequence[Mapping[str, str]], columns: Sequence[str]) -> str:
    """``rows`` as a plain-text table: a header, then one line per row, columns left-aligned
    (pandas' to_string, without importing pandas)."""
    widths = [max([len(c), *(len(row[c]) for row in rows)]) for c in columns]
    lines = [[*columns], *([row[c] for c in columns] for row in rows)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``xplain`` script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="xplain")


if __name__ == "__main__":
    main()
