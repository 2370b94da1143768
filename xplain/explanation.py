"""The result of one explanation: values per feature plus everything needed to trust them."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, InvalidParameterError, ModelOutputError

if TYPE_CHECKING:  # pandas (0.5 s) is imported by the calls that build frames
    import pandas as pd

# to_dict's keys that from_dict needs, those it may lack, and those it derives (ignored)
_REQUIRED = (
    "features", "values", "target", "target_label", "prediction", "labels", "method",
    "params", "diagnostics", "n_model_evals", "seconds", "modality", "output",
)
_OPTIONAL = (
    "special", "instance", "model_id", "instance_id", "display", "signed", "interactions",
)
_DERIVED = ("n_features", "image_shape")


@dataclass(frozen=True, eq=False)
class Explanation:
    """Attributions of one instance by one method, for one target class.

    ``values[i]`` is the attribution of ``features[i]`` to the explained score (``output``:
    logits, probability...) of class ``target``. ``prediction`` holds the model's class
    probabilities. ``diagnostics`` says how good the estimate is (e.g. IG's
    ``completeness_gap``) and what was changed on the way (e.g. ``truncated``).
    ``signed`` is False when the values are magnitudes (>= 0, larger = more important, no
    direction: saliency's ``|gradient|``, Grad-CAM's ReLU'd map, an L2 aggregation).
    ``interactions`` (``[d, d]``, symmetric, rows summing to ``values``) holds pairwise
    SHAP interaction values where the method computed them (``tree_shap`` with
    ``interactions=True``): the diagonal is each feature's main effect, ``[i, j] + [j, i]``
    the interaction of features i and j; None otherwise.

    Identity, so that metrics refuse an explanation of another model or instance:
    ``model_id`` fingerprints the explainer's model (see ``xplain._identity``: for plain
    callables it is only valid within one process), ``instance_id`` the instance as the
    adapter encoded it; both are None for an Explanation built by hand.

    Plain data: ``values``, ``prediction``, ``special``, ``interactions`` and an array
    ``instance`` are read-only copies, so an Explanation never changes once made
    (``dataclasses.replace`` gives a changed copy). ``==`` compares content: arrays by
    value, ``params`` and ``diagnostics`` as :meth:`to_dict` writes them.
    ``Explanation.from_dict(e.to_dict())``, also after a JSON round trip, equals ``e``.

    Attributes:
        features: The ``d`` feature names (tokens, columns, pixels ``"(r, c)"``).
        values: Float ``[d]``, one attribution per feature.
        target: The explained class index, ``0..C-1``.
        target_label: The explained class's label.
        prediction: Float ``[C]``, the model's class probabilities (a regressor's
            outputs).
        labels: The ``C`` class labels, in output order.
        method: The method's name (``"integrated_gradients"``...).
        params: Every parameter the method ran with, defaults included.
        diagnostics: The method's quality measures and the adapter's notes.
        n_model_evals: Model rows evaluated for this explanation, prediction included.
        seconds: Wall-clock time of the explanation, prediction included.
        modality: The adapter's modality: ``"text"``, ``"tabular"``, ``"image"`` or a
            plugin's.
        output: The explained score (``"logits"``, ``"probability"``...).
        special: Bool ``[d]``, features never perturbed (e.g. [CLS]); empty: none.
        instance: The instance as the adapter encoded it, or None.
        model_id: Fingerprint of the model, or None.
        instance_id: Fingerprint of the instance, or None.
        display: How reports and plots draw the features (from the adapter).
        signed: False when the values are magnitudes only.
        interactions: Float ``[d, d]`` pairwise interaction values, or None.
    """

    features: list[str]
    values: np.ndarray
    target: int
    target_label: str
    prediction: np.ndarray
    labels: list[str]
    method: str
    params: dict[str, Any]
    diagnostics: dict[str, Any]
    n_model_evals: int
    seconds: float
    modality: str
    output: str
    special: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    instance: Any = None
    model_id: str | None = None
    instance_id: str | None = None
    display: FeatureDisplay = field(default_factory=FeatureDisplay)
    # False when the values are magnitudes only (saliency's |gradient|, a ReLU'd map, an L2
    # norm over embedding dimensions): reports draw them on a 0..max scale
    signed: bool = True
    interactions: np.ndarray | None = None  # [d, d] pairwise values, rows summing to values

    def __post_init__(self) -> None:
        # copies, so that neither the caller's objects nor later edits change the result
        for name in ("values", "prediction", "special"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))
        if self.interactions is not None:
            pairs = _read_only(np.asarray(self.interactions, dtype=np.float64))
            n = len(self.features)
            if pairs.shape != (n, n):
                raise InvalidInputError(
                    f"Explanation.interactions must be a [{n}, {n}] matrix (one row and one "
                    f"column per feature); got shape {pairs.shape}. Pass None for none."
                )
            object.__setattr__(self, "interactions", pairs)
        if isinstance(self.instance, np.ndarray) and self.instance.flags.writeable:
            object.__setattr__(self, "instance", _read_only(self.instance))
        for name, kind in (("features", list), ("labels", list), ("params", dict),
                           ("diagnostics", dict)):
            object.__setattr__(self, name, kind(getattr(self, name)))
        base = self.diagnostics.get("base_value")
        real = isinstance(base, numbers.Real) and not isinstance(base, bool)
        if base is not None and not (real and math.isfinite(base)):
            # plots and reports draw f(x) and the waterfall from it: never from NaN or text
            raise InvalidInputError(
                f"Explanation.diagnostics['base_value'] must be a finite number or None; got "
                f"{base!r}. A method without a base value leaves the key out."
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        if not np.array_equal(self._special_flags(), other._special_flags()):
            return False
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("params", "diagnostics"):  # as to_dict keeps them
                mine, theirs = jsonable(mine), jsonable(theirs)
            if f.name == "display":
                mine, theirs = jsonable(mine.to_dict()), jsonable(theirs.to_dict())
            if f.name != "special" and not _same(mine, theirs):
                return False
        return True

    @property
    def n_features(self) -> int:
        """Number of features (``len(features)``; ``values`` has one per feature)."""
        return len(self.features)

    @property
    def base_value(self) -> float | None:
        """The score the values add up from (``diagnostics["base_value"]``), in the units of
        ``output``; None where the method has no additive reference.

        * ``kernel_shap``, ``exact_shapley``, ``deepshap``, ``gradient_shap``,
          interventional ``tree_shap``: the expected output over the background (its
          weighted mean score); ``base_value + sum(values)`` is f(x) up to
          ``efficiency_gap`` / ``completeness_gap`` (gradient_shap: a Monte-Carlo
          estimate);
        * path-dependent ``tree_shap`` (``diagnostics["feature_perturbation"]`` is
          ``"tree_path_dependent"``: the default without background rows, and always with
          ``interactions=True``): shap's ``expected_value``, the mean output over the
          training data recorded in the trees (their cover), not over any background; the
          values add up from it to f(x) up to ``efficiency_gap``;
        * ``integrated_gradients``, ``deeplift``: f(baseline), the same up to
          ``completeness_gap`` (see ``completeness_note`` when the adapter's aggregation
          per feature does not add up, e.g. an L2 norm);
        * ``lime``: the surrogate's intercept (its prediction with every feature off); the
          values add up from it to ``diagnostics["local_prediction"]``, not to f(x): the
          gap is the surrogate's fit error. None without bins
          (``discretize_continuous=False``), where the values are slopes over z-scores;
        * None for ``saliency``, ``input_x_gradient``, ``smoothgrad`` and any method in a
          noise wrapper (Smooth IG: the values average attributions of noisy copies of x),
          ``occlusion``, ``grad_cam``, ``guided_backprop``, ``guided_grad_cam``, ``xrai``.

        ``diagnostics["base_value_source"]`` says in words which it is where the method
        records it (``lime``, ``tree_shap``), as the HTML report's tooltip does. A
        restricted explanation (``es[:, names]``) keeps it and ``delta``, and records the
        left-out features' sum in ``diagnostics["restricted"]``.
        """
        return self.diagnostics.get("base_value")

    @property
    def predicted_class(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.prediction))

    @property
    def predicted_label(self) -> str:
        return self.labels[self.predicted_class]

    @property
    def prediction_is_probability(self) -> bool:
        """Whether ``prediction`` holds class probabilities (>= 2 values in [0, 1] summing
        to 1); False for a regression's or a raw-score model's outputs, which reports show
        as ``prediction = value`` rather than ``p = value``."""
        p = np.asarray(self.prediction, dtype=np.float64)
        in_unit = bool(np.all((p >= 0) & (p <= 1)))
        return p.size >= 2 and in_unit and abs(float(p.sum()) - 1.0) <= 1e-6

    def prediction_text(self) -> str:
        """The target's prediction as reports show it: ``p=0.873`` or ``prediction=63.4048``."""
        value = float(self.prediction[self.target])
        return f"p={value:.3f}" if self.prediction_is_probability else f"prediction={value:.6g}"

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """``(H, W)`` of an explanation drawn as a 2-D grid (``display.kind == "grid"``, e.g.
        an image's pixels, in row-major order): ``values.reshape(image_shape)`` is its heat
        map. None for other displays.
        """
        shape = self.display.shape
        if self.display.kind != "grid" or shape is None or len(shape) != 2:
            return None
        return shape[0], shape[1]

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: position, feature, value, special."""
        import pandas as pd

        return pd.DataFrame(
            {
                "feature": self.features,
                "value": self.values,
                "special": self._special_flags(),
            }
        )

    def top(self, k: int = 10, *, include_special: bool = False) -> pd.DataFrame:
        """The ``k`` features with the largest |value|, largest first (a DataFrame as
        :meth:`to_frame`); ``include_special`` keeps special tokens such as [CLS]."""
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise InvalidParameterError(f"The 'k' parameter of top must be an int >= 1. Got {k!r}.")
        frame = self.to_frame()
        if not include_special:
            frame = frame[~frame["special"]]
        order = frame["value"].abs().sort_values(ascending=False, kind="stable").index
        return frame.loc[order].head(k)

    def to_dict(self) -> dict[str, Any]:
        """A dict of the explanation that is strict JSON (``json.dumps(..., allow_nan=False)``).

        A NaN or infinite diagnostic or parameter (an estimate that is undefined) becomes
        None; NaN or infinite ``values`` or ``prediction`` raise ModelOutputError. The
        instance is kept, so that :meth:`from_dict` gives back an explanation that renders
        (an image's pixels) and can be evaluated: text as is, an array as
        ``{"array": nested lists, "dtype": ...}``, a row as ``{"mapping": [[column, value],
        ...]}``. ``display`` is :meth:`FeatureDisplay.to_dict`. ``n_features`` and
        ``image_shape`` are there for readers; from_dict derives them. ``interactions``
        (nested lists) is written only where there are some.
        """
        pairs = ("interactions",) if self.interactions is not None else ()
        for name in ("values", "prediction", *pairs):
            bad = int((~np.isfinite(np.asarray(getattr(self, name), dtype=np.float64))).sum())
            if bad:
                raise ModelOutputError(
                    f"Explanation.{name} holds {bad} NaN or infinite number(s), which JSON "
                    "cannot hold and xplain will not replace; explain the instance again "
                    "(Explainer refuses non-finite model outputs with a ModelOutputError)."
                )
        return jsonable(
            {
                "features": self.features,
                "values": self.values,
                "special": self._special_flags(),
                "target": self.target,
                "target_label": self.target_label,
                "prediction": self.prediction,
                "labels": self.labels,
                "method": self.method,
                "params": self.params,
                "diagnostics": self.diagnostics,
                "n_model_evals": self.n_model_evals,
                "seconds": self.seconds,
                "modality": self.modality,
                "output": self.output,
                "image_shape": self.image_shape,
                "n_features": self.n_features,
                "model_id": self.model_id,
                "instance_id": self.instance_id,
                "instance": _plain_instance(self.instance),
                "display": self.display.to_dict(),
                "signed": self.signed,
                **{name: getattr(self, name) for name in pairs},
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Explanation:
        """The Explanation :meth:`to_dict` wrote (``data``), also after a JSON round trip.

        ``Explanation.from_dict(e.to_dict()) == e``; ``params`` and ``diagnostics`` come
        back as JSON values (arrays as lists, NaN as None). A dict without ``"instance"``
        (written before to_dict kept it, or edited) gives ``instance=None``: it renders
        (an image as a list of pixels), but metrics refuse it, as they re-run the model on
        the instance. Raises InvalidInputError for a dict that is not such an explanation.
        """
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                "Explanation.from_dict needs the dict written by Explanation.to_dict. Got "
                f"{type(data).__name__}."
            )
        missing = [key for key in _REQUIRED if key not in data]
        unknown = [key for key in data if key not in (*_REQUIRED, *_OPTIONAL, *_DERIVED)]
        if missing or unknown:
            problems = [f"missing {', '.join(map(repr, missing))}"] if missing else []
            problems += [f"unknown {', '.join(map(repr, unknown))}"] if unknown else []
            raise InvalidInputError(
                f"Explanation.from_dict got a dict with {' and '.join(problems)} key(s); pass "
                f"the dict written by Explanation.to_dict (keys: {', '.join(_REQUIRED)}, "
                f"optionally {', '.join(_OPTIONAL)})."
            )
        try:
            features = [str(f) for f in data["features"]]
            n, labels = len(features), [str(label) for label in data["labels"]]
            explanation = cls(
                features=features,
                values=_numbers(data["values"], "values", n),
                target=int(data["target"]),
                target_label=str(data["target_label"]),
                prediction=_numbers(data["prediction"], "prediction", len(labels)),
                labels=labels,
                method=str(data["method"]),
                params=dict(data["params"]),
                diagnostics=dict(data["diagnostics"]),
                n_model_evals=int(data["n_model_evals"]),
                seconds=float(data["seconds"]),
                modality=str(data["modality"]),
                output=str(data["output"]),
                special=np.asarray(data.get("special", [False] * n), dtype=bool),
                instance=_instance_from_plain(data.get("instance")),
                model_id=data.get("model_id"),
                instance_id=data.get("instance_id"),
                display=_display_from_plain(data),
                signed=bool(data.get("signed", True)),  # dicts written before: signed
                interactions=_pairs(data.get("interactions"), n),
            )
        except InvalidInputError:
            raise
        except (TypeError, ValueError) as err:  # e.g. target "two", params a list
            raise InvalidInputError(
                f"Explanation.from_dict got an entry of the wrong type: {err}. Pass the dict "
                "written by Explanation.to_dict."
            ) from err
        if len(explanation.special) != n or data.get("n_features", n) != n:
            raise InvalidInputError(
                f"Explanation.from_dict got {n} features but {len(explanation.special)} "
                f"'special' flags and n_features={data.get('n_features')!r}; the dict was "
                "edited or truncated. Pass the dict written by Explanation.to_dict."
            )
        if not 0 <= explanation.target < len(explanation.prediction):
            raise InvalidInputError(
                f"Explanation.from_dict got target={explanation.target} for "
                f"{len(explanation.prediction)} predicted classes; the dict was edited. Pass "
                "the dict written by Explanation.to_dict."
            )
        return explanation

    def to_html(self, *, full_page: bool = False, max_display: int = 10) -> str:
        """Self-contained HTML (inline CSS, no scripts, every data string escaped).

        Parameters:
            full_page: A standalone page rather than a fragment (Jupyter).
            max_display: Most rows drawn where features are drawn as bars (>= 1), the
                "N other features" row included, as in :meth:`plot`: the
                ``max_display - 1`` largest |values| and one row summing the rest (every
                feature when they fit).
        """
        from xplain.report.render import render_explanation

        return render_explanation(self, full_page=full_page, max_display=max_display)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path, *, max_display: int = 10) -> Path:
        """Write a standalone HTML page to ``path`` and return the path.

        Parameters:
            path: The file to write (UTF-8); its folder must exist.
            max_display: Most rows of the bars view, "N other features" included (see
                :meth:`to_html`).
        """
        from xplain.report.render import save_page

        return save_page(path, self.to_html(full_page=True, max_display=max_display))

    def plot(self, kind: str | None = None, **kwargs: Any) -> Any:
        """Draw with matplotlib and return the Axes (:func:`xplain.plot.explanation`):
        ``kind`` None picks by display (tokens, image, else a waterfall), or ``"bar"``,
        ``"waterfall"``, ``"text"``, ``"image"``, ``"interactions"``; ``kwargs`` go to that
        plot (e.g. ``ax``, ``max_display``). Never calls ``plt.show()``."""
        from xplain.plot import explanation

        return explanation(self, kind=kind, **kwargs)

    def __repr__(self) -> str:
        best = self.top(3)
        pairs = zip(best["feature"], best["value"], strict=True)
        top = ", ".join(f"{f!r}: {v:+.3g}" for f, v in pairs)
        return (
            f"Explanation(method={self.method!r}, target={self.target_label!r}, "
            f"{self.prediction_text()}, n_features={len(self.features)}, top={{{top}}})"
        )

    def _special_flags(self) -> np.ndarray:
        if len(self.special) == len(self.features):
            return np.asarray(self.special, dtype=bool)
        return np.zeros(len(self.features), dtype=bool)


def _read_only(array: Any) -> np.ndarray:
    """A read-only copy of ``array``."""
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


def _same(a: Any, b: Any) -> bool:
    """Equal content: arrays by shape and value (NaN equal to NaN), containers item by item."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        numeric = a.dtype.kind in "biufc" and b.dtype.kind in "biufc"
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=numeric))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # objects whose == gives no single truth value
        return False


def _plain_instance(instance: Any) -> Any:
    """The instance as JSON values, tagged so that :func:`_instance_from_plain` restores it."""
    if instance is None or isinstance(instance, str):
        return instance
    if hasattr(instance, "detach"):  # a torch tensor
        instance = instance.detach().cpu().numpy()
    if isinstance(instance, np.ndarray) and instance.dtype.kind in "biuf":
        return {"array": jsonable(instance), "dtype": instance.dtype.str}
    if isinstance(instance, Mapping):
        return {"mapping": [[jsonable(k), jsonable(v)] for k, v in instance.items()]}
    return {"value": jsonable(instance)}  # anything else: as JSON, not restored exactly


def _instance_from_plain(plain: Any) -> Any:
    if plain is None or isinstance(plain, str):
        return plain
    if isinstance(plain, Mapping) and len(plain) == 2 and {"array", "dtype"} <= set(plain):
        try:
            return np.asarray(plain["array"], dtype=np.dtype(plain["dtype"]))
        except (TypeError, ValueError) as err:
            raise InvalidInputError(
                f"Explanation.from_dict cannot read the instance array: {err}. Pass the dict "
                "written by Explanation.to_dict."
            ) from err
    if isinstance(plain, Mapping) and set(plain) == {"mapping"}:
        return {_hashable(k): v for k, v in plain["mapping"]}
    if isinstance(plain, Mapping) and set(plain) == {"value"}:
        return plain["value"]
    raise InvalidInputError(
        "Explanation.from_dict cannot read the 'instance' entry: it must be None, a string, "
        "or a dict with 'array' and 'dtype', 'mapping' or 'value', as Explanation.to_dict "
        f"writes it. Got {type(plain).__name__}."
    )


def _display_from_plain(data: Mapping[str, Any]) -> FeatureDisplay:
    """The dict's display; a dict written before displays existed has only ``image_shape``
    (a grid) or nothing (bars)."""
    if data.get("display") is not None:
        return FeatureDisplay.from_dict(data["display"])
    if data.get("image_shape") is not None:
        return FeatureDisplay("grid", shape=tuple(data["image_shape"]))
    return FeatureDisplay()


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key  # a tuple column label, via JSON


def _numbers(values: Any, name: str, n: int) -> np.ndarray:
    """``values`` as finite float64 ``[n]``, else InvalidInputError."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"Explanation.from_dict needs numbers in '{name}': {err}."
        ) from err
    if array.shape != (n,) or not np.isfinite(array).all():
        raise InvalidInputError(
            f"Explanation.from_dict needs {n} finite numbers in '{name}' (one per "
            f"{'feature' if name == 'values' else 'label'}); got shape {array.shape} with "
            f"{int((~np.isfinite(array)).sum())} missing or non-finite. Pass the dict written "
            "by Explanation.to_dict."
        )
    return array


def _pairs(values: Any, n: int) -> np.ndarray | None:
    """``values`` as a finite float64 ``[n, n]`` matrix (None stays None), else
    InvalidInputError."""
    if values is None:
        return None
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"Explanation.from_dict needs numbers in 'interactions': {err}."
        ) from err
    if array.shape != (n, n) or not np.isfinite(array).all():
        raise InvalidInputError(
            f"Explanation.from_dict needs a [{n}, {n}] matrix of finite numbers in "
            f"'interactions' (one row and column per feature); got shape {array.shape}. Pass "
            "the dict written by Explanation.to_dict."
        )
    return array


def jsonable(value: Any) -> Any:
    """``value`` as strict-JSON values: arrays as lists, numpy scalars as Python ones, NaN
    and infinities as None, anything else as its JSON or ``str`` form."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN / Infinity
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return jsonable(json.loads(json.dumps(value, default=str)))
