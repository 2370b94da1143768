"""Explanations: many explanations as one read-only sequence, sliced by row and feature.

>>> es = explainer.explain_batch(rows, method="kernel_shap")   # an Explanations
>>> es.values                    # [n, d] attributions (rows whose features align)
>>> es[:3], es[es.targets == 1]  # rows: a slice, a list of positions, a boolean mask
>>> es[:, "age"]                 # [n] attributions of one feature
>>> es[:, ["age", "sex"]]        # the batch restricted to two features
>>> es.to_frame(), es.mean_abs() # long table; global importance (mean |value|)
>>> es.plot.beeswarm()           # matplotlib (xplain.plot)

Plain data like :class:`~xplain.Explanation`: it holds the explanations and nothing else,
never a model, and round-trips through :meth:`Explanations.to_dict` and
:meth:`Explanations.to_parquet` / :meth:`Explanations.read_parquet`.
"""

from __future__ import annotations

import importlib
import numbers
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from xplain._validation import did_you_mean
from xplain.errors import InvalidInputError
from xplain.explanation import Explanation

if TYPE_CHECKING:  # pandas (0.5 s) is imported by the calls that build frames
    import pandas as pd

# diagnostics about the sum of all values (how far it is from f(x) - f(reference)): they
# do not hold for a subset of the features, so a restricted explanation drops them. It
# keeps ``delta`` = f(x) - f(reference), which no feature choice changes (f(x) is
# ``base_value + delta`` for the waterfall and the report).
_SUM_DIAGNOSTICS = (
    "completeness_gap", "completeness_gap_shown", "completeness_note", "convergence_delta",
    "efficiency_gap",
)
_LONG_COLUMNS = ("row", "position", "feature", "value", "special", "base_value", "target",
                 "target_label", "method")


class RowIndexError(InvalidInputError, IndexError):
    """A row position outside the batch (an ``IndexError``, as a list raises)."""


class Explanations(Sequence[Explanation]):
    """Explanations of many instances: a read-only sequence of :class:`~xplain.Explanation`.

    Returned by ``Explainer.explain_batch`` and ``ExplanationDataset.explanations``.
    ``es[i]`` is the i-th Explanation; ``es[rows]`` (a slice, a list or array of positions,
    a boolean mask) is an Explanations of those rows; ``es[:, "age"]`` the attributions of
    one feature over the rows (``[n]``); ``es[:, ["age", "sex"]]`` (names, positions, a
    slice or a boolean mask over the features) the rows restricted to those features, in
    that order; ``es[rows, cols]`` both. Feature names are looked up in each row, so they
    also select from rows with different features (texts); positions need rows whose
    features align.

    A restricted Explanation keeps its base value and ``delta`` (f(x) - f(reference), so
    f(x) is still known), its per-feature arrays (``special``, ``display.shown``,
    ``std_err``, interaction values) for the features kept, and drops the diagnostics
    about the sum of all values (``completeness_gap``, ``efficiency_gap``...), which no
    longer hold for a subset; ``diagnostics["restricted"]`` says
    how many features were left out and the sum of their values (so ``base_value`` +
    ``sum(values)`` + ``values_left_out`` is the full explanation's total).

    Matrices (:attr:`values`, :attr:`data`, ``to_frame(wide=True)``, :meth:`mean_abs`) need
    features that align: the same names in the same order in every row (e.g. tabular rows);
    otherwise (texts of different tokens) they raise InvalidInputError, and the long
    ``to_frame()`` holds every row's own features. An empty batch has no features: its
    matrices are ``(0, 0)``.

    ``==`` compares content, row by row (also with a list of Explanations).

    Parameters:
        explanations: the Explanations, in order (any iterable of Explanation).
    """

    __hash__ = None  # type: ignore[assignment]  # equal by content, as Explanation

    def __init__(self, explanations: Iterable[Explanation] = ()) -> None:
        if isinstance(explanations, Explanation | str | bytes | Mapping) or not isinstance(
            explanations, Iterable
        ):
            raise InvalidInputError(
                "Explanations takes an iterable of xplain.Explanation (e.g. a list). Got "
                f"{type(explanations).__name__}; wrap one explanation in a list."
            )
        items = tuple(explanations)
        wrong = next((i for i, e in enumerate(items) if not isinstance(e, Explanation)), None)
        if wrong is not None:
            raise InvalidInputError(
                f"Explanations holds xplain.Explanation objects only; item {wrong} is a "
                f"{type(items[wrong]).__name__}."
            )
        self._items = items

    # -- sequence ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Explanation]:
        return iter(self._items)

    @overload
    def __getitem__(self, key: int) -> Explanation: ...

    @overload
    def __getitem__(self, key: Any) -> Explanations | Explanation | np.ndarray | float: ...

    def __getitem__(self, key: Any) -> Explanations | Explanation | np.ndarray | float:
        """``es[rows]`` or ``es[rows, features]``; see the class docstring."""
        if isinstance(key, tuple):
            if len(key) != 2:
                raise InvalidInputError(
                    f"Explanations takes at most two indices, es[rows, features]. Got {len(key)}."
                )
            rows, columns = key
            chosen = self[rows]
            if isinstance(chosen, Explanation):
                return _select(Explanations([chosen]), columns, "es[row, features]")[0]
            return _select(chosen, columns, "es[rows, features]")
        if isinstance(key, str):
            raise InvalidInputError(
                f"es[{key!r}] indexes rows; select a feature's values over the rows with "
                f"es[:, {key!r}] (or es[i, {key!r}] for row i)."
            )
        if _is_int(key):
            n = len(self)
            if not -n <= key < n:
                raise RowIndexError(
                    f"Row {key} is out of range: this batch has {n} explanation(s) "
                    f"(positions 0..{n - 1}, or negative from the end)."
                )
            return self._items[int(key)]
        return Explanations(self._items[i] for i in _positions(key, len(self), "rows"))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Explanations):
            other = other._items
        elif not isinstance(other, list | tuple):
            return NotImplemented
        return len(self) == len(other) and all(
            isinstance(b, Explanation) and a == b for a, b in zip(self, other, strict=True)
        )

    def __repr__(self) -> str:
        if not self._items:
            return "Explanations(n=0)"
        methods = sorted({e.method for e in self})
        method = f"method={methods[0]!r}" if len(methods) == 1 else f"methods={methods}"
        features = len(self.features) if self._aligned() else "varying"
        return f"Explanations(n={len(self)}, {method}, n_features={features})"

    # -- columns -----------------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        """The features every row shares, in order ([] for an empty batch).

        Raises InvalidInputError when the rows' features differ (e.g. texts).
        """
        if not self._aligned():
            raise self._misaligned("features")
        return list(self._items[0].features) if self._items else []

    @property
    def values(self) -> np.ndarray:
        """Attributions ``[n, d]`` (float64), row i feature j (see :attr:`features`)."""
        if not self._items:
            return np.zeros((0, 0))
        if not self._aligned():
            raise self._misaligned("values")
        return np.stack([np.asarray(e.values, dtype=np.float64) for e in self])

    @property
    def base_values(self) -> np.ndarray:
        """``[n]`` base values (float64): each row's ``base_value``, NaN where undefined."""
        return np.array(
            [np.nan if e.base_value is None else float(e.base_value) for e in self],
            dtype=np.float64,
        )

    @property
    def data(self) -> np.ndarray:
        """``[n, d]`` the instances' shown feature values (``display.shown``): float64 when
        every one is a number, else an object array with None where a row shows none."""
        d = len(self.features)
        table = np.full((len(self), d), None, dtype=object)
        for i, e in enumerate(self):
            shown = e.display.shown or ()
            table[i, : min(d, len(shown))] = list(shown[:d])
        numeric = all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in table.flat
        )
        return table.astype(np.float64) if numeric else table

    @property
    def method(self) -> str | None:
        """The method of every row (None for an empty batch); InvalidInputError if mixed."""
        methods = sorted({e.method for e in self})
        if len(methods) > 1:
            raise InvalidInputError(
                f"This batch mixes the methods {', '.join(map(repr, methods))}; select one "
                "method's rows, e.g. es[[e.method == 'lime' for e in es]]."
            )
        return methods[0] if methods else None

    @property
    def targets(self) -> np.ndarray:
        """``[n]`` the target class index of each row (int64)."""
        return np.array([e.target for e in self], dtype=np.int64)

    @property
    def target_labels(self) -> list[str]:
        """The target class label of each row."""
        return [e.target_label for e in self]

    @property
    def predictions(self) -> np.ndarray:
        """``[n, C]`` the model's class probabilities or scores for each row (float64)."""
        if not self._items:
            return np.zeros((0, 0))
        sizes = sorted({len(e.prediction) for e in self})
        if len(sizes) > 1:
            raise InvalidInputError(
                f"The rows' predictions have {sizes} classes; they come from different "
                "models. Keep the rows of one model."
            )
        return np.stack([np.asarray(e.prediction, dtype=np.float64) for e in self])

    # -- tables ------------------------------------------------------------------------
    def to_frame(self, wide: bool = False) -> pd.DataFrame:
        """The attributions as a table.

        Parameters:
            wide: False (default): long, one row per instance and feature, columns
                ``row, position, feature, value, special, base_value, target,
                target_label, method`` (any rows, also texts of different tokens).
                True: one row per instance (index ``row``), one column per feature, as
                :attr:`values` (needs features that align).
        """
        import pandas as pd

        if wide:
            return pd.DataFrame(
                self.values,
                index=pd.RangeIndex(len(self), name="row"),
                columns=pd.Index(self.features, name="feature", dtype=object),
            )
        sizes = [e.n_features for e in self]
        row = np.repeat(np.arange(len(self), dtype=np.int64), sizes)  # [total] each one's row
        return pd.DataFrame(
            {
                "row": row,
                "position": _concat([np.arange(k, dtype=np.int64) for k in sizes], np.int64),
                "feature": np.array([f for e in self for f in e.features], dtype=object),
                "value": _concat([e.values for e in self], np.float64),
                "special": _concat([e._special_flags() for e in self], bool),
                "base_value": self.base_values[row],
                "target": self.targets[row],
                "target_label": np.array(self.target_labels, dtype=object)[row],
                "method": np.array([e.method for e in self], dtype=object)[row],
            },
            columns=list(_LONG_COLUMNS),
        )

    def mean_abs(self) -> pd.Series:
        """Global importance: mean |value| of each feature over the rows, largest first
        (``np.abs(values).mean(0)`` as a Series indexed by feature; needs aligned features)."""
        import pandas as pd

        if not self._items:
            return pd.Series([], dtype=np.float64, name="mean_abs",
                             index=pd.Index([], name="feature", dtype=object))
        series = pd.Series(
            np.abs(self.values).mean(axis=0),
            index=pd.Index(self.features, name="feature", dtype=object),
            name="mean_abs",
        )
        return series.sort_values(ascending=False, kind="stable")

    # -- plain data --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"explanations": [e.to_dict(), ...]}``, strict JSON (see Explanation.to_dict)."""
        return {"explanations": [e.to_dict() for e in self]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanations:
        """The Explanations :meth:`to_dict` wrote, also after a JSON round trip.

        Parameters:
            data: the dict written by :meth:`to_dict`.
        """
        if not isinstance(data, Mapping) or set(data) != {"explanations"} or not isinstance(
            data["explanations"], list
        ):
            got = sorted(map(str, data)) if isinstance(data, Mapping) else type(data).__name__
            raise InvalidInputError(
                "Explanations.from_dict needs the dict written by Explanations.to_dict: "
                f"{{'explanations': [explanation dicts]}}. Got {got}."
            )
        return cls(Explanation.from_dict(item) for item in data["explanations"])

    def to_parquet(self, path: str | Path) -> None:
        """Write the batch to the Parquet file ``path``, one row per explanation, in the
        schema of ``explain_dataset``'s parts (:mod:`xplain.scale.schema`): a
        ``value:<feature>`` column per feature where the rows' features align (else list
        columns), and the rest (interactions, diagnostics, display...) as JSON.

        Parameters:
            path: the file to write (replaced if it exists).
        """
        from xplain.scale.schema import write_parquet  # pyarrow, imported on first use

        write_parquet(path, self._items)

    @classmethod
    def read_parquet(cls, path: str | Path) -> Explanations:
        """The Explanations :meth:`to_parquet` wrote (``==`` the batch written).

        Parameters:
            path: the Parquet file.
        """
        from xplain.scale.schema import read_parquet

        return cls(read_parquet(path))

    # -- views -------------------------------------------------------------------------
    def to_html(
        self, *, full_page: bool = False, max_display: int = 20, max_instances: int = 50
    ) -> str:
        """The batch report (:class:`xplain.report.BatchReport`): global importance and a
        beeswarm, token rows or image panels; self-contained and escaped.

        Parameters:
            full_page: a standalone page (True) or a fragment for Jupyter (False).
            max_display: most rows of each chart, the "N other features" row included
                (the most important features or tokens first, as ``plot``).
            max_instances: instances shown one by one (texts, images).
        """
        return self._report(max_display, max_instances).to_html(full_page=full_page)

    def _repr_html_(self) -> str | None:
        # an empty batch has nothing to draw: Jupyter falls back to the repr
        return self.to_html() if self._items else None

    def save_html(
        self, path: str | Path, *, max_display: int = 20, max_instances: int = 50
    ) -> Path:
        """Write the batch report as a standalone page and return its path.

        Parameters:
            path: the file to write.
            max_display: most rows of each chart, the "N other features" row included
                (the most important features or tokens first, as ``plot``).
            max_instances: instances shown one by one (texts, images).
        """
        return self._report(max_display, max_instances).save_html(path)

    @property
    def plot(self) -> ExplanationsPlot:
        """Matplotlib plots of the batch: ``es.plot()`` (a beeswarm), ``es.plot.beeswarm()``,
        ``es.plot.bar()`` (global importance), ``es.plot.dependence(feature)``."""
        return ExplanationsPlot(self)

    # -- helpers -----------------------------------------------------------------------
    def _report(self, max_display: int, max_instances: int) -> Any:
        from xplain.report.batch import BatchReport

        if not self._items:
            raise InvalidInputError(
                "This batch is empty, so there is no report to draw; explain some "
                "instances first."
            )
        return BatchReport(list(self), max_display=max_display, max_instances=max_instances)

    def _aligned(self) -> bool:
        """Whether every row has the first row's features, in the same order."""
        first = self._items[0].features if self._items else []
        return all(e.features == first for e in self._items)

    def _misaligned(self, what: str) -> InvalidInputError:
        first = self._items[0].features
        i = next(i for i, e in enumerate(self._items) if e.features != first)
        other = self._items[i].features
        if len(other) != len(first):
            why = f"row 0 has {len(first)} features and row {i} has {len(other)}"
        else:
            j = next(j for j, (a, b) in enumerate(zip(first, other, strict=True)) if a != b)
            why = f"feature {j} is {first[j]!r} in row 0 and {other[j]!r} in row {i}"
        return InvalidInputError(
            f"Explanations.{what} needs rows with the same features in the same order, but "
            f"{why} (e.g. texts of different tokens). Use es.to_frame() (long: one row per "
            "instance and feature), select features by name (es[:, names]), or take the "
            "rows one by one."
        )


class ExplanationsPlot:
    """``es.plot``: the batch plots of :mod:`xplain.plot` (matplotlib), each returning Axes.

    ``es.plot(...)`` is ``es.plot.beeswarm(...)``. Extra keyword arguments go to the
    :mod:`xplain.plot` function.

    Parameters:
        explanations: the batch to plot.
    """

    def __init__(self, explanations: Explanations) -> None:
        self._explanations = explanations

    def __call__(self, ax: Any = None, max_display: int = 10, **kwargs: Any) -> Any:
        """A beeswarm (see :meth:`beeswarm`)."""
        return self.beeswarm(ax=ax, max_display=max_display, **kwargs)

    def beeswarm(self, ax: Any = None, max_display: int = 10, **kwargs: Any) -> Any:
        """One dot per row and feature (x: attribution, colour: the feature's value).

        Parameters:
            ax: the matplotlib Axes to draw on (None: a new figure).
            max_display: most rows drawn, the "N other features" row included.
        """
        return _plot().beeswarm(self._explanations, ax=ax, max_display=max_display, **kwargs)

    def bar(self, ax: Any = None, max_display: int = 10, **kwargs: Any) -> Any:
        """Global importance: a bar of mean |value| per feature (:meth:`Explanations.mean_abs`).

        Parameters:
            ax: the matplotlib Axes to draw on (None: a new figure).
            max_display: most rows drawn, the "N other features" row included.
        """
        return _plot().importance(self._explanations, ax=ax, max_display=max_display, **kwargs)

    def dependence(
        self, feature: str, ax: Any = None, color_by: str | None = None, **kwargs: Any
    ) -> Any:
        """A feature's attribution against its value, one dot per row.

        Parameters:
            feature: the feature's name.
            ax: the matplotlib Axes to draw on (None: a new figure).
            color_by: another feature whose value colours the dots (None: one colour).
        """
        return _plot().dependence(
            self._explanations, feature, ax=ax, color_by=color_by, **kwargs
        )


def _plot() -> Any:
    """``xplain.plot``, imported on first use (it imports matplotlib lazily itself)."""
    return importlib.import_module("xplain.plot")


def _concat(arrays: list[Any], dtype: Any) -> np.ndarray:
    """The arrays end to end as ``dtype`` (empty when there are none)."""
    return np.concatenate([np.asarray(a, dtype=dtype) for a in arrays] or [np.zeros(0, dtype)])


# -- selection ---------------------------------------------------------------------------
def _is_int(key: Any) -> bool:
    return isinstance(key, numbers.Integral) and not isinstance(key, bool | np.bool_)


def _positions(key: Any, n: int, what: str) -> list[int]:
    """Positions ``0..n-1`` chosen by ``key``: a slice, or positions (negative from the end)
    or a boolean mask of length ``n`` as a list, tuple, array or Series."""
    if isinstance(key, slice):
        return list(range(n))[key]
    if isinstance(key, Iterable) and not isinstance(key, str | bytes | Mapping):
        array = np.asarray(list(key) if not isinstance(key, np.ndarray) else key)
        if array.size == 0:
            return []
        if array.ndim == 1 and array.dtype == bool:
            if array.shape[0] != n:
                raise InvalidInputError(
                    f"A boolean mask over the {what} needs one flag per {what[:-1]} ({n}); "
                    f"got {array.shape[0]}."
                )
            return np.flatnonzero(array).tolist()
        if array.ndim == 1 and array.dtype.kind in "iu":
            outside = [int(i) for i in array if not -n <= i < n]
            if outside:
                raise RowIndexError(
                    f"Position {outside[0]} is out of range: there are {n} {what} "
                    f"(positions 0..{n - 1}, or negative from the end)."
                )
            return [int(i) % n for i in array]
    raise InvalidInputError(
        f"Select {what} with an int, a slice, a list or array of ints, or a boolean mask. "
        f"Got {key!r:.80}."
    )


def _is_sequence(key: Any) -> bool:
    """A list, tuple, array or pandas Index (pandas is not imported to ask)."""
    pd = sys.modules.get("pandas")
    return isinstance(key, list | tuple | np.ndarray) or (
        pd is not None and isinstance(key, pd.Index)
    )


def _select(es: Explanations, key: Any, where: str) -> Explanations | np.ndarray:
    """``es`` restricted to the features ``key`` chooses, or one feature's values ``[n]``."""
    one = isinstance(key, str) or _is_int(key)
    if isinstance(key, str) or (
        _is_sequence(key)
        and len(key) > 0
        and all(isinstance(k, str) for k in key)
    ):
        names = [key] if isinstance(key, str) else [str(k) for k in key]
        per_row = [[_position(e, i, name, where) for name in names] for i, e in enumerate(es)]
    else:
        d = len(es.features)  # positions need features that align
        if one:
            if not -d <= key < d:
                raise InvalidInputError(
                    f"Feature position {key} is out of range: there are {d} features."
                )
            chosen = [int(key) % d]
        else:
            chosen = _positions(key, d, "features")
        per_row = [chosen] * len(es)
    if one:
        return np.array([e.values[p[0]] for e, p in zip(es, per_row, strict=True)],
                        dtype=np.float64)
    return Explanations(restrict(e, p) for e, p in zip(es, per_row, strict=True))


def _position(e: Explanation, row: int, name: str, where: str) -> int:
    found = [j for j, f in enumerate(e.features) if f == name]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidInputError(
            f"Feature {name!r} occurs {len(found)} times in row {row} (at positions "
            f"{found}), so {where} cannot tell which one; select it by position."
        )
    raise InvalidInputError(
        f"Row {row} has no feature {name!r}.{did_you_mean(name, e.features)} Its features: "
        f"{', '.join(map(repr, e.features[:20]))}{', ...' if e.n_features > 20 else ''}."
    )


def restrict(e: Explanation, positions: Sequence[int]) -> Explanation:
    """``e`` with only the features at ``positions``, in that order.

    Every per-feature array follows (``values``, ``special``, ``display.shown``,
    ``diagnostics["std_err"]``, interaction values); a grid display (an image) becomes bars,
    as a subset of pixels is no longer a grid. The diagnostics about the sum of all values
    are dropped (they do not hold for a subset; ``delta`` = f(x) - f(reference) is kept),
    and ``diagnostics["restricted"]`` records
    ``features_left_out`` and ``values_left_out`` (their sum). Restricting to every feature
    in order gives ``e`` itself.

    Parameters:
        e: the explanation.
        positions: the features to keep (distinct positions in ``0..d-1``).
    """
    idx = [int(p) for p in positions]
    d = e.n_features
    if len(set(idx)) != len(idx):
        twice = next(p for p in idx if idx.count(p) > 1)
        raise InvalidInputError(
            f"The features to keep name {e.features[twice]!r} (position {twice}) more than "
            "once; each feature can be kept once."
        )
    if idx == list(range(d)):
        return e
    left_out = np.ones(d, dtype=bool)
    left_out[idx] = False
    diagnostics = {k: v for k, v in e.diagnostics.items() if k not in _SUM_DIAGNOSTICS}
    std_err = diagnostics.pop("std_err", None)
    if std_err is not None and np.ndim(std_err) == 1 and len(std_err) == d:
        diagnostics["std_err"] = np.asarray(std_err, dtype=np.float64)[idx]
    # else: a scalar std_err is the error of the sum of all values (gradient_shap): dropped
    diagnostics["restricted"] = {
        "features_left_out": int(left_out.sum()),
        "values_left_out": float(np.asarray(e.values, dtype=np.float64)[left_out].sum()),
    }
    display = e.display
    shown = None if display.shown is None else tuple(
        display.shown[j] if j < len(display.shown) else None for j in idx
    )
    if display.shape is not None:
        display = replace(display, kind="bars", shape=None, shown=shown)
    else:
        display = replace(display, shown=shown)
    interactions = None if e.interactions is None else (
        np.asarray(e.interactions)[np.ix_(idx, idx)]
    )
    return replace(
        e,
        features=[e.features[j] for j in idx],
        values=np.asarray(e.values)[idx],
        special=e._special_flags()[idx],
        diagnostics=diagnostics,
        display=display,
        interactions=interactions,
    )
