"""Read an ``explain_dataset`` output: rows, explanations, global importance, report, metrics.

>>> ds = xplain.open_dataset("attrs/")       # a finished or a partial run
>>> len(ds), ds.n_rows, ds.missing_partitions  # rows explained so far, planned, parts to do
>>> ds.to_pandas()                            # one row per explained row, sorted by row_id
>>> ds.explanation(17)                        # the Explanation of row 17
>>> ds.explanations(range(100))               # rows 0..99 as an xplain.Explanations
>>> ds.global_importance()                    # per feature: mean |value|, mean, count
>>> ds.report(path="report.html")             # the batch HTML report of the first rows
>>> ds.evaluate(explainer, ["deletion_auc"], rows=range(100))

The Parquet parts (see :mod:`xplain.scale.schema` for their columns) are read when asked,
one part at a time where the answer allows it; every part read is checked to be this
run's and to hold the rows the manifest plans for it. Only :meth:`~ExplanationDataset.evaluate`
runs a model.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xplain._validation import did_you_mean, positive_int
from xplain.errors import (
    DatasetOutputError,
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    XplainWarning,
)
from xplain.explanations import Explanations
from xplain.limits import check_memory
from xplain.metrics import DEFAULT_METRICS, MetricInfo, metric_params, scalar_metrics
from xplain.report.batch import BatchReport
from xplain.report.render import environment, fragment, save_page
from xplain.scale.schema import FIXED, JSON_COLUMN, VALUE, to_explanation
from xplain.scale.store import (
    MANIFEST,
    part_metadata,
    part_name,
    read_manifest,
)

if TYPE_CHECKING:
    from xplain.explainer import Explainer
    from xplain.explanation import Explanation

ROW_ID = "row_id"
# evaluate() runs every metric (hundreds of model calls each) on every row it scores: with
# no rows chosen it scores at most this many, and asks for rows=... beyond
MAX_DEFAULT_EVALUATE_ROWS = 1000
_RESUME = "rerun explain_dataset on the same data and output with resume=True"


class ExplanationDataset:
    """The explanations ``explain_dataset`` wrote to ``directory`` (see :mod:`xplain.scale`).

    Plain data, read lazily from the Parquet parts: a partial run (stopped, failed or
    still going) reads as the rows of its finished partitions.

    Args:
        directory: The output directory of an ``explain_dataset`` run.
        manifest: The run's manifest, when the caller has already read it; None: read
            from ``directory``.

    Raises:
        DatasetOutputError: ``directory`` has no readable manifest, or the manifest is
            inconsistent.
    """

    def __init__(self, directory: str | os.PathLike, manifest: dict[str, Any] | None = None):
        self.directory = Path(directory)
        self.manifest = _checked(self.directory, manifest or read_manifest(self.directory))
        self._starts = [start for start, _ in self.partitions]

    # -- what is there -------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Rows the run plans to explain (the input's rows)."""
        return int(self.manifest["n_rows"])

    @property
    def partitions(self) -> list[tuple[int, int]]:
        """``[start, stop)`` row ids of each partition."""
        return [(int(a), int(b)) for a, b in self.manifest["partitions"]]

    @property
    def features(self) -> list[str] | None:
        """The features of every row (wide layout: one ``value:<f>`` column each), or None
        where rows have their own (list columns: ``tokens`` or ``features``, ``values``)."""
        features = self.manifest.get("features")
        return None if features is None else list(features)

    @property
    def method(self) -> str:
        return str(self.manifest["method"])

    @property
    def finished_partitions(self) -> list[int]:
        """Partitions on disk (a part file is renamed into place only once complete)."""
        return [i for i in range(len(self.partitions)) if self._path(i).is_file()]

    @property
    def missing_partitions(self) -> list[int]:
        done = set(self.finished_partitions)
        return [i for i in range(len(self.partitions)) if i not in done]

    @property
    def complete(self) -> bool:
        """Whether every partition is on disk (every row explained)."""
        return not self.missing_partitions

    def __len__(self) -> int:
        """Rows explained so far (those of the finished partitions)."""
        return sum(b - a for i, (a, b) in enumerate(self.partitions) if self._path(i).is_file())

    def __repr__(self) -> str:
        missing = self.missing_partitions
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        return (
            f"ExplanationDataset({str(self.directory)!r}, method={self.method!r}, "
            f"rows={len(self)}/{self.n_rows}, partitions={len(self.partitions) - len(missing)}"
            f"/{len(self.partitions)}" + (f", missing=[{shown}])" if missing else ")")
        )

    def _repr_html_(self) -> str:
        """A summary of the output, then the batch report of its first 50 rows (if any)."""
        missing = self.missing_partitions
        layout = (
            f"one column per feature ({len(self.features)} features)"
            if self.features is not None else "a list of features and values per row"
        )
        summary = environment().get_template("_dataset.html.j2").render(
            d=self, directory=str(self.directory), total=len(self.partitions),
            finished=len(self.partitions) - len(missing), missing=missing[:20],
            more=max(len(missing) - 20, 0), layout=layout,
        )
        if len(missing) == len(self.partitions):
            return fragment(summary)
        return summary + BatchReport(self.explanations(limit=50)).to_html()

    # -- rows ----------------------------------------------------------------------------
    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Every explained row, sorted by ``row_id`` (always the first column).

        ``columns``: the columns to read (default: all but the JSON column
        ``explanation``, read only when named); see :mod:`xplain.scale.schema`. A column
        that some parts lack (a diagnostic one method run did not report) is null there;
        diagnostic ints and bools are nullable (``Int64``, ``boolean``), so a partial and a
        complete output read with the same dtypes.
        """
        parts = self.finished_partitions
        wanted = self._columns(columns, parts, "to_pandas")
        check_memory(
            "ExplanationDataset.to_pandas", self._bytes(parts, wanted),
            "read fewer columns (columns=[...]) or one partition at a time (iter_batches())",
        )
        tables = [self._read(i, wanted) for i in parts]
        if not tables:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in wanted})
        table = pa.concat_tables(tables, promote_options="permissive")
        return _frame(table.sort_by(ROW_ID), wanted, self._schema(parts))

    def iter_batches(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """One DataFrame per finished partition, in order (``columns`` as in to_pandas)."""
        parts = self.finished_partitions
        wanted = self._columns(columns, parts, "iter_batches")  # checked now, not when iterated
        schema = self._schema(parts)
        return (_frame(self._read(i, wanted), wanted, schema) for i in parts)

    def _schema(self, parts: list[int]) -> pa.Schema:
        """The columns of all ``parts`` (from their footers), so that every frame read
        types a column alike, whether or not its own part has it."""
        schemas = []
        for i in parts:
            with self._reading(i):
                schemas.append(pq.read_schema(self._path(i)).remove_metadata())
        return pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])

    # -- explanations --------------------------------------------------------------------
    def explanation(self, row_id: int) -> Explanation:
        """The Explanation of row ``row_id`` (its position in the input), as ``explain``
        returned it; reads only that row's part."""
        return self.explanations([row_id])[0]

    def explanations(
        self, row_ids: Iterable[int] | None = None, limit: int | None = None
    ) -> Explanations:
        """The explanations of ``row_ids`` in their order, as an :class:`~xplain.Explanations`
        (``es.values``, ``es[:, "age"]``, ``es.to_frame()``...): each equals
        :meth:`explanation` of its row; each part is read once.

        Parameters:
            row_ids: the row ids (positions in the input; default: every explained row, in
                order).
            limit: keep only the first ``limit`` of them.
        """
        if limit is not None:
            limit = positive_int("limit", limit, "explanations")
        if row_ids is None:
            chosen = _first_rows(self.partitions, self.finished_partitions, limit)
        else:
            chosen = self._row_ids(row_ids, "'row_ids' parameter of explanations")[:limit]
        by_part: dict[int, list[int]] = {}
        for row_id in chosen:
            by_part.setdefault(self._part_of(row_id), []).append(row_id)
        done = set(self.finished_partitions)
        for i in by_part:
            if i not in done:
                self._refuse_missing(by_part[i][0], i)
        found: dict[int, Explanation] = {}
        for i, ids in by_part.items():
            start = self.partitions[i][0]
            rows = self._read(i, None).take([row_id - start for row_id in ids]).to_pylist()
            for row_id, row in zip(ids, rows, strict=True):
                found[row_id] = to_explanation(row, self.features)
        return Explanations(found[row_id] for row_id in chosen)

    # -- summaries -----------------------------------------------------------------------
    def global_importance(self, target: int | str | None = None) -> pd.DataFrame:
        """Global importance: one row per feature (or token string), largest first.

        Columns ``feature``, ``mean_abs`` (mean |value| over the rows, or over a token's
        occurrences), ``mean`` (signed) and ``count`` (values averaged), as
        :meth:`xplain.report.BatchReport.importance` computes them; special features
        (``[CLS]``...) are left out. ``target`` (a class index or label) keeps the rows
        that explain that class. Without it every row counts with the class it explains;
        when those differ (``target=None`` in explain_dataset: each row's predicted
        class) an XplainWarning says so, since values of different classes are then
        averaged together. Streams the parts one at a time (memory: one part).
        """
        wanted = None if target is None else self._target_index(target)
        totals: dict[str, list[float]] = {}  # feature -> [sum |value|, sum value, count]
        explained: dict[str, int] = {}  # target label -> rows
        for i in self.finished_partitions:
            classes = self._read(i, ["target", "target_label"])
            labels = classes.column("target_label").to_pylist()
            targets = classes.column("target").to_numpy()
            keep = np.ones(len(targets), bool) if wanted is None else targets == wanted
            for label in np.asarray(labels, dtype=object)[keep]:
                explained[label] = explained.get(label, 0) + 1
            if self.features is not None:
                self._add_wide(totals, i, keep)
            else:
                self._add_lists(totals, i, keep)
        if len(explained) > 1:
            counts = ", ".join(f"{n} {label!r}" for label, n in explained.items())
            warnings.warn(
                f"The rows explain different classes ({counts}), so global_importance "
                "averages values of different classes together; pass target=... for one "
                "class (or explain the dataset with one target).",
                XplainWarning,
                stacklevel=2,
            )
        frame = pd.DataFrame(
            {
                "feature": list(totals),
                "mean_abs": [t[0] / t[2] for t in totals.values()],
                "mean": [t[1] / t[2] for t in totals.values()],
                "count": [int(t[2]) for t in totals.values()],
            }
        )
        frame = frame.sort_values("mean_abs", ascending=False, kind="stable")
        return frame.reset_index(drop=True)

    def _target_index(self, target: int | str) -> int:
        """The class index ``target`` names (an index, or one of the manifest's labels)."""
        labels = [str(label) for label in self.manifest.get("labels") or []]
        if isinstance(target, str):
            if target in labels:
                return labels.index(target)
        elif (isinstance(target, int | np.integer) and not isinstance(target, bool)
              and 0 <= int(target) < max(len(labels), 1)):
            return int(target)
        raise InvalidParameterError(
            f"target must be a class index or one of the labels {labels}. Got {target!r}."
        )

    def _add_wide(self, totals: dict[str, list[float]], i: int, keep: np.ndarray) -> None:
        features = self.features or []
        lacking = [VALUE + f for f in features if VALUE + f not in self._names(i)]
        if lacking:
            raise DatasetOutputError(
                f"{part_name(i)} has no column {lacking[0]!r}, which the manifest's features "
                "name; the manifest or the part is damaged. Run explain_dataset again with "
                "overwrite=True."
            )
        table = self._read(i, [VALUE + f for f in features])
        for f in features:
            # float64 [rows]; a row is never null (explain refuses non-finite values)
            values = table.column(VALUE + f).to_numpy(zero_copy_only=False).astype(np.float64)
            values = values[keep]
            t = totals.setdefault(f, [0.0, 0.0, 0])
            t[0] += float(np.abs(values).sum())
            t[1] += float(values.sum())
            t[2] += len(values)

    def _add_lists(self, totals: dict[str, list[float]], i: int, keep: np.ndarray) -> None:
        column = "tokens" if "tokens" in self._names(i) else "features"
        table = self._read(i, [column, "values", JSON_COLUMN])
        for features, values, plain, kept in zip(
            table.column(column).to_pylist(), table.column("values").to_pylist(),
            table.column(JSON_COLUMN).to_pylist(), keep, strict=True,
        ):
            if not kept:
                continue
            special = json.loads(plain).get("special") or [False] * len(features)
            for feature, value, skip in zip(features, values, special, strict=True):
                if not skip:
                    t = totals.setdefault(feature, [0.0, 0.0, 0])
                    t[0] += abs(value)
                    t[1] += value
                    t[2] += 1

    def report(
        self,
        *,
        max_instances: int = 50,
        max_display: int = 20,
        path: str | os.PathLike | None = None,
    ) -> str:
        """The batch HTML report (:class:`xplain.report.BatchReport`, a standalone page) of
        the first ``max_instances`` explained rows; its global importance and beeswarm are
        those rows' (see :meth:`global_importance` for all rows). With ``path``, also
        written there.

        Args:
            max_instances: Rows read and shown, the first ones (default 50).
            max_display: Most rows of each chart, the "N other features" row included
                (default 20).
            path: Where to write the page as well, or None.

        Returns:
            The page's HTML.

        Raises:
            InvalidInputError: no partition is finished yet.
        """
        max_instances = positive_int("max_instances", max_instances, "report")
        max_display = positive_int("max_display", max_display, "report")
        explanations = self.explanations(limit=max_instances)
        if not explanations:
            raise InvalidInputError(
                f"{str(self.directory)!r} has no finished partition yet, so there is nothing "
                f"to report; {_RESUME} to compute them."
            )
        report = BatchReport(explanations, max_display=max_display, max_instances=max_instances)
        html = report.to_html(full_page=True)
        if path is not None:
            save_page(path, html)
        return html

    # -- metrics -------------------------------------------------------------------------
    def evaluate(
        self,
        explainer: Explainer,
        metrics: Sequence[str] | None = None,
        *,
        rows: Iterable[int] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> pd.DataFrame:
        """One row per explained row (index ``row_id``): each metric's score.

        ``metrics`` are names from :func:`xplain.metrics.available_metrics` that return a
        scalar (default: ``xplain.metrics.DEFAULT_METRICS``), ``params`` maps a metric name
        to its keyword parameters; a metric that does not apply to the method is NaN.
        ``frame.attrs["higher_is_better"]`` says which direction is better per column.
        ``explainer`` must be the one that made the dataset (its model is re-run: hundreds
        of model calls per metric and row). ``rows`` are the row ids to score (default:
        every explained row, at most 1,000 of them: beyond, pass the rows to score).
        """
        model_id = getattr(explainer, "model_id", None)
        if model_id is None or not hasattr(explainer, "adapter"):
            raise InvalidParameterError(
                "The 'explainer' parameter of evaluate must be the xplain.Explainer that made "
                f"this dataset. Got {type(explainer).__name__}."
            )
        if model_id != self.manifest.get("model_id"):
            raise InvalidParameterError(
                f"The explainer passed to evaluate wraps another model (model_id {model_id}) "
                f"than the one that made this dataset (model_id {self.manifest.get('model_id')}"
                f", in {str(self.directory / MANIFEST)!r}); the metrics would score "
                "that model on these explanations. Pass the Explainer that made the dataset "
                "(the same model with the same weights)."
            )
        infos = scalar_metrics(
            DEFAULT_METRICS if metrics is None else metrics, owner="ExplanationDataset.evaluate",
            per="row", call="(explainer, dataset.explanation(row_id))",
        )
        params = metric_params(params, infos)
        if rows is None and len(self) > MAX_DEFAULT_EVALUATE_ROWS:
            raise InvalidParameterError(
                f"evaluate would score all {len(self):,} explained rows with {len(infos)} "
                f"metrics, each re-running the model hundreds of times per row; with no "
                f"'rows' it scores at most {MAX_DEFAULT_EVALUATE_ROWS:,}. Pass the row ids to "
                "score, e.g. rows=range(1000)."
            )
        ids = (_first_rows(self.partitions, self.finished_partitions, None) if rows is None
               else self._row_ids(rows, "'rows' parameter of evaluate"))
        scores = {
            row_id: {info.name: _score(info, explainer, e, params.get(info.name, {}))
                     for info in infos}
            for row_id, e in zip(ids, self.explanations(ids), strict=True)
        }
        frame = pd.DataFrame.from_dict(scores, orient="index", columns=[i.name for i in infos])
        frame.index.name = ROW_ID
        frame.attrs["higher_is_better"] = {info.name: info.higher_is_better for info in infos}
        return frame

    # -- parts ---------------------------------------------------------------------------
    def _path(self, index: int) -> Path:
        return self.directory / part_name(index)

    def _row(self, row_id: Any) -> int:
        """``row_id`` checked: an int of a planned row."""
        if isinstance(row_id, bool) or not isinstance(row_id, int | np.integer):
            raise InvalidInputError(f"A row id must be an int. Got {row_id!r}.")
        if not 0 <= row_id < self.n_rows:
            raise InvalidInputError(
                f"Row {row_id} is out of range: this dataset has rows 0..{self.n_rows - 1}."
            )
        return int(row_id)

    def _row_ids(self, rows: Iterable[int], what: str) -> list[int]:
        """``rows`` checked: an iterable of planned row ids (``what`` names the parameter)."""
        if isinstance(rows, str | bytes) or not isinstance(rows, Iterable):
            raise InvalidParameterError(
                f"The {what} must be a list of row ids (ints). Got {type(rows).__name__}."
            )
        return [self._row(i) for i in rows]

    def _part_of(self, row_id: int) -> int:
        return bisect.bisect_right(self._starts, row_id) - 1

    def _refuse_missing(self, row_id: int, index: int) -> None:
        start, stop = self.partitions[index]
        raise InvalidInputError(
            f"Row {row_id} is not explained yet: its partition {index} (rows {start}.."
            f"{stop - 1}) is not finished ({part_name(index)} is missing from "
            f"{str(self.directory)!r}). To compute it, {_RESUME}."
        )

    def _columns(self, columns: Sequence[str] | None, parts: list[int], owner: str) -> list[str]:
        """The columns to read (``row_id`` first), checked against the parts' columns."""
        available: dict[str, None] = {}
        for i in parts:
            available.update(dict.fromkeys(self._names(i)))
        if columns is None:
            return [c for c in available if c != JSON_COLUMN] or [ROW_ID]
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise InvalidParameterError(
                f"The 'columns' parameter of {owner} must be a list of column names. "
                f"Got {columns!r}."
            )
        unknown = [c for c in columns if c not in available]
        if parts and unknown:
            raise InvalidParameterError(
                f"The 'columns' parameter of {owner} names {unknown[0]!r}, which no part of "
                f"this dataset has.{did_you_mean(unknown[0], available)} Columns: "
                f"{', '.join(available)}."
            )
        return [ROW_ID, *dict.fromkeys(c for c in columns if c != ROW_ID)]

    def _bytes(self, parts: list[int], columns: list[str]) -> int:
        """The uncompressed size of ``columns`` in ``parts`` (from their Parquet footers):
        about the memory they take once read."""
        wanted, total = set(columns), 0
        for i in parts:
            with self._reading(i):
                file = pq.ParquetFile(self._path(i))
            names, meta = file.schema_arrow.names, file.metadata
            # schema.to_table writes primitive and list<primitive> columns: one leaf each
            leaves = names if meta.num_columns == len(names) else None
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for j in range(group.num_columns):
                    if leaves is None or leaves[j] in wanted:
                        total += group.column(j).total_uncompressed_size
        return total

    def _names(self, index: int) -> list[str]:
        """The columns part ``index`` has."""
        with self._reading(index):
            return pq.read_schema(self._path(index)).names

    @contextmanager
    def _reading(self, index: int) -> Iterator[None]:
        """Re-raise a failure to read part ``index`` as a DatasetOutputError saying why."""
        path = self._path(index)
        try:
            yield
        except FileNotFoundError as err:
            raise DatasetOutputError(
                f"{part_name(index)} disappeared from {str(self.directory)!r} while being "
                "read (a run with overwrite=True going on?); open the dataset again."
            ) from err
        except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
            raise DatasetOutputError(
                f"{str(path)!r} is not a readable Parquet part ({err}); delete it and "
                f"{_RESUME} to compute it again."
            ) from err

    def _read(self, index: int, columns: list[str] | None) -> pa.Table:
        """Part ``index`` (``columns`` of it that it has, row_id included), checked to be
        this run's and to hold the rows the manifest plans, in order."""
        path = self._path(index)
        present = self._names(index)
        chosen = None if columns is None else [c for c in columns if c in present]
        if chosen is not None and ROW_ID not in chosen:
            chosen = [ROW_ID, *chosen]
        with self._reading(index):
            table = pq.read_table(path, columns=chosen)
            meta = part_metadata(path)
        if meta.get("fingerprint") != self.manifest.get("fingerprint"):
            raise DatasetOutputError(
                f"{str(path)!r} was written by another run than the one {str(self.directory)!r}"
                f"'s manifest describes; delete it and {_RESUME} to compute it again."
            )
        start, stop = self.partitions[index]
        ids = table.column(ROW_ID).to_numpy()
        if not np.array_equal(ids, np.arange(start, stop)):
            raise DatasetOutputError(
                f"{str(path)!r} holds {len(ids)} rows ({_span(ids)}), but the manifest plans "
                f"rows {start}..{stop - 1} for partition {index}; delete it and {_RESUME}."
            )
        return table


def open_dataset(path: str | os.PathLike) -> ExplanationDataset:
    """The output of ``explain_dataset`` in ``path``, finished or partial (see
    :class:`ExplanationDataset`); a directory that is not one raises DatasetOutputError."""
    if not isinstance(path, str | os.PathLike):
        raise DatasetOutputError(
            f"open_dataset takes the path of an explain_dataset output directory. Got "
            f"{type(path).__name__}."
        )
    return ExplanationDataset(path)


# -- helpers -------------------------------------------------------------------------------
def _checked(directory: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest, with its rows and partitions checked: partitions cover 0..n_rows."""
    try:
        n_rows = manifest["n_rows"]
        bounds = [(int(a), int(b)) for a, b in manifest["partitions"]]
        features = manifest["features"]
        ok = isinstance(n_rows, int) and (features is None or isinstance(features, list))
        edges = [0] + [b for _, b in bounds]
        ok = ok and all(a == edges[k] and b > a for k, (a, b) in enumerate(bounds))
        ok = ok and edges[-1] == n_rows
        fingerprint = manifest["fingerprint"]
        # what the manifest says of the run must be what its fingerprint (checked against
        # every part) says
        ok = ok and all(manifest[key] == fingerprint[key]
                        for key in ("method", "params", "seed", "target", "n_rows"))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise DatasetOutputError(
            f"The manifest {str(directory / MANIFEST)!r} does not describe its rows "
            "(n_rows, partitions covering rows 0..n_rows-1 in order, features, and the method, "
            "params, seed and target of its fingerprint); it is damaged. "
            "Run explain_dataset again with overwrite=True."
        )
    return manifest


def _first_rows(
    partitions: list[tuple[int, int]], finished: list[int], limit: int | None
) -> list[int]:
    """The row ids of the finished partitions, in order; the first ``limit`` of them."""
    ids: list[int] = []
    for i in finished:
        if limit is not None and len(ids) >= limit:
            break
        ids.extend(range(*partitions[i]))
    return ids[:limit]


def _frame(table: pa.Table, columns: list[str], schema: pa.Schema) -> pd.DataFrame:
    """``table`` as a DataFrame with ``columns`` in order, each typed as in ``schema``
    (null where the part lacks it). Diagnostic ints and bools, which some rows may lack,
    are nullable (``Int64``, ``boolean``) whether or not these rows have nulls, so a
    partial and a complete output read alike."""
    for name in columns:
        if name in schema.names and name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
    frame = table.to_pandas()
    for name in columns:
        if name not in frame.columns:
            frame[name] = None
            continue
        kind = schema.field(name).type if name in schema.names else None
        if name not in FIXED and kind == pa.int64():
            frame[name] = frame[name].astype("Int64")
        elif name not in FIXED and kind == pa.bool_():
            frame[name] = frame[name].astype("boolean")
        elif kind == pa.float64() and frame[name].dtype != np.float64:
            frame[name] = frame[name].astype(np.float64)
    return frame[columns].reset_index(drop=True)


def _span(ids: np.ndarray) -> str:
    return f"rows {ids.min()}..{ids.max()}" if len(ids) else "no rows"


def _score(
    info: MetricInfo, explainer: Explainer, explanation: Explanation, kwargs: Mapping[str, Any]
) -> float:
    try:
        return float(info.function(explainer, explanation, **kwargs))
    except MethodNotApplicableError:
        return math.nan
