"""Certified stability of a binary explanation by multiplicative smoothing (MuS).

Xue, Alur and Wong (2023), "Stability Guarantees for Feature Attributions with
Multiplicative Smoothing" (NeurIPS, arXiv:2307.05902). Implemented from the paper (the
authors' code carries no licence).

The smoothed model over the interpretable view's ``d`` features is

    g(alpha) = 1/q * sum_{j<q} h(x masked by alpha * s_j),    alpha in {0, 1}^d,

with ``h`` the model's class probabilities (in [0, 1]) and ``s_1..s_q`` derandomised
keep-masks: the paper's construction draws one offset ``v_i`` per feature from
``{0, 1/q, ..., (q-1)/q}`` once (the seed) and keeps feature ``i`` in mask ``j`` iff
``(v_i + j/q) mod 1 < lambda``. As ``j`` runs over ``0..q-1`` the shifted offsets run
over every multiple of ``1/q`` once, so each feature is kept in exactly
``m = floor(lambda q)`` of the ``q`` masks: ``P(s_i = 1) = m / q`` exactly, and ``g`` is
computed exactly with ``q`` model calls, no sampling error. Because each ``s_i`` is
Bernoulli(m / q), ``g`` is ``m / q``-Lipschitz to masking (the paper's Theorem 3.1):
``||g(alpha) - g(alpha')||_inf <= (m / q) ||alpha - alpha'||_1``. ``m / q`` is ``lambda``
when ``lambda q`` is an integer (the paper's setting), and less otherwise.

For a binary explanation ``alpha`` (the top-k features) with smoothed top-two
probabilities ``p_A > p_B``, no change of fewer than ``r = (p_A - p_B) / (2 lambda)``
features can change the smoothed class (each class moves by at most ``lambda`` per
feature). The paper's radii:

* incremental stability, at ``g(alpha)``: adding fewer than ``r_inc`` features to the
  explanation keeps its class (the bound holds for removing them too);
* decremental stability, at ``g(1)`` (the full input): removing fewer than ``r_dec``
  features outside the explanation keeps the full input's class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._validation import SEED, Interval, Param, Satisfies, validate_params
from xplain.errors import InvalidParameterError, MethodNotApplicableError, ModelOutputError
from xplain.explanation import Explanation
from xplain.methods.perturbation._sampling import check_budget
from xplain.views import InterpretableView

if TYPE_CHECKING:
    from xplain.explainer import Explainer

__all__ = ["Certificate", "SmoothedModel", "certify", "keep_masks"]

PAPER = "Xue, Alur and Wong 2023, MuS, arXiv:2307.05902"
_BATCH = 256  # masks per model call
_EPS = 1e-9  # lambda * q within this of an integer counts as that integer (0.29 * 100)

_PARAMS = {
    "k": Param(
        None,
        Satisfies(lambda v: v is None, "None"),
        Interval(int, 1),
        doc="features in the explanation (None: a quarter of them, rounded up)",
    ),
    "lam": Param(0.25, Interval(float, 0, 1, closed="right"), doc="keep probability"),
    "q": Param(64, Interval(int, 1), doc="derandomised keep-masks"),
    "seed": Param(0, SEED, doc="seed of the per-feature offsets"),
}


def _n_kept(lam: float, q: int, owner: str) -> int:
    """``floor(lam * q)``, the masks keeping each feature; refused when it is 0."""
    m = int(math.floor(lam * q + _EPS))
    if m < 1:
        raise InvalidParameterError(
            f"{owner}: lam * q must be >= 1 so that each feature is kept in at least one of "
            f"the q masks. Got lam={lam!r}, q={q!r} (lam * q = {lam * q:g}); raise q or lam."
        )
    return m


def keep_masks(
    n_features: int, lam: float = 0.25, q: int = 64, seed: int | None = 0
) -> np.ndarray:
    """The ``q`` derandomised keep-masks of MuS over ``n_features`` features.

    Feature ``i`` gets an offset ``v_i`` drawn uniformly from ``{0, ..., q-1}`` (the
    paper's ``{0, 1/q, ..., (q-1)/q}`` times ``q``); mask ``j`` keeps it iff
    ``(v_i + j) mod q < floor(lam * q)``, so each feature is kept in exactly
    ``floor(lam * q)`` masks (Xue, Alur and Wong 2023, derandomised MuS).

    Args:
        n_features: ``d``, the number of features masked (>= 1).
        lam: The keep probability lambda, in (0, 1].
        q: The number of masks (>= 1); ``lam * q`` must be >= 1.
        seed: Seed of the offsets (None: not reproducible).

    Returns:
        np.ndarray: Bool ``[q, d]``, True where mask ``j`` keeps feature ``i``.

    Raises:
        InvalidParameterError: a parameter out of range, or ``lam * q < 1``.
    """
    p = validate_params(
        "keep_masks",
        {"n_features": Param(1, Interval(int, 1)), **{n: _PARAMS[n] for n in ("lam", "q", "seed")}},
        {"n_features": n_features, "lam": lam, "q": q, "seed": seed},
    )
    m = _n_kept(p["lam"], p["q"], "keep_masks")
    offsets = np.random.default_rng(p["seed"]).integers(0, p["q"], size=p["n_features"])  # [d]
    shifted = (offsets[None, :] + np.arange(p["q"])[:, None]) % p["q"]  # [q, d]
    return shifted < m


class SmoothedModel:
    """The MuS-smoothed model ``g`` over an interpretable view's features.

    ``g(alpha)`` is the mean, over the ``q`` keep-masks of :func:`keep_masks`, of the
    view's class probabilities at ``alpha * s_j`` (Xue, Alur and Wong 2023).

    Args:
        view: The interpretable view, built for the ``"probability"`` output (the
            Lipschitz bound needs scores in [0, 1]).
        lam: The keep probability lambda, in (0, 1].
        q: The number of keep-masks.
        seed: Seed of the per-feature offsets of the masks.
    """

    def __init__(
        self, view: InterpretableView, lam: float = 0.25, q: int = 64, seed: int | None = 0
    ) -> None:
        self.view = view
        self.masks = keep_masks(view.n_features, lam, q, seed)  # [q, d]
        self.lam = float(lam)
        self.q = int(q)

    @property
    def lipschitz(self) -> float:
        """The exact keep probability ``floor(lam q) / q`` (<= lam): the Lipschitz constant
        of ``g`` to masking in the L1 norm of the masks."""
        return float(self.masks[:, 0].sum()) / self.q if self.masks.shape[1] else self.lam

    def __call__(self, alphas: np.ndarray) -> np.ndarray:
        """Smoothed probabilities ``[n, C]`` at bool masks ``alphas`` ``[n, d]``.

        Args:
            alphas: Bool ``[n, d]`` (or ``[d]``), True where a feature is present.

        Returns:
            np.ndarray: ``[n, C]``, each row the mean over the q keep-masks.
        """
        alphas = np.atleast_2d(np.asarray(alphas, dtype=bool))  # [n, d]
        n, q = alphas.shape[0], self.q
        combined = (alphas[:, None, :] & self.masks[None]).reshape(n * q, -1)  # [n * q, d]
        scores = [
            np.asarray(self.view.evaluate(combined[i : i + _BATCH]), dtype=np.float64)
            for i in range(0, n * q, _BATCH)
        ]
        probs = np.concatenate(scores).reshape(n, q, -1)  # [n, q, C]
        if probs.size and (not np.isfinite(probs).all() or probs.min() < -1e-6
                           or probs.max() > 1 + 1e-6):
            raise ModelOutputError(
                "MuS needs class probabilities in [0, 1] (the Lipschitz bound assumes them); "
                f"the view gave scores in [{probs.min():g}, {probs.max():g}]. Build the view "
                "with output='probability'."
            )
        return probs.mean(1)


@dataclass(frozen=True)
class Certificate:
    """What :func:`certify` found: the binary explanation and its certified radii.

    Attributes:
        method: The method of the explanation certified.
        features: The Explanation features of the kept view features (the binary
            explanation; a segment's pixels for an image).
        kept: Bool ``[d]`` over the view's features, True for the top-k.
        k: Number of features kept.
        lam: The keep probability asked for.
        lipschitz: ``floor(lam q) / q``, the Lipschitz constant the radii divide by.
        q: Number of keep-masks.
        seed: Seed of the masks' offsets.
        labels: The class labels.
        smoothed: ``[C]`` smoothed probabilities at the explanation, ``g(alpha)``.
        smoothed_full: ``[C]`` smoothed probabilities of the full input, ``g(1)``.
        model: ``[C]`` the model's own probabilities of the full input.
        p_a: Top smoothed probability at the explanation.
        p_b: Second smoothed probability at the explanation.
        label: The smoothed class at the explanation (index).
        incremental_radius: ``(p_A - p_B) / (2 lipschitz)`` at ``g(alpha)``.
        decremental_radius: The same at ``g(1)``.
        consistent: Whether the smoothed class at the explanation is that of the full
            input.
        matches_model: Whether the smoothed class of the full input is the model's.
        n_model_evals: Masks evaluated (each may be several model rows).
    """

    method: str
    features: list[str]
    kept: np.ndarray
    k: int
    lam: float
    lipschitz: float
    q: int
    seed: int | None
    labels: list[str]
    smoothed: np.ndarray
    smoothed_full: np.ndarray
    model: np.ndarray
    p_a: float
    p_b: float
    label: int
    incremental_radius: float
    decremental_radius: float
    consistent: bool
    matches_model: bool
    n_model_evals: int

    @property
    def certified_additions(self) -> int:
        """Most features that provably can be added to the explanation: the largest
        integer strictly below the incremental radius (0 when it is 0)."""
        return max(0, math.ceil(self.incremental_radius) - 1)

    @property
    def certified_removals(self) -> int:
        """Most features outside the explanation that provably can be removed from the
        full input: the largest integer strictly below the decremental radius."""
        return max(0, math.ceil(self.decremental_radius) - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists for arrays), e.g. for JSON.

        Returns:
            dict: One entry per attribute.
        """
        out = dict(self.__dict__)
        for key in ("kept", "smoothed", "smoothed_full", "model"):
            out[key] = np.asarray(out[key]).tolist()
        return out


def _top_two(probs: np.ndarray) -> tuple[int, float, float]:
    """(top class, its probability, the runner-up's) of ``[C]``; p_B is 0 for one class."""
    order = np.argsort(-probs, kind="stable")
    p_b = float(probs[order[1]]) if len(probs) > 1 else 0.0
    return int(order[0]), float(probs[order[0]]), p_b


def certify(
    explainer: Explainer,
    explanation: Explanation,
    *,
    k: int | None = None,
    lam: float = 0.25,
    q: int = 64,
    seed: int | None = 0,
) -> Certificate:
    """Certify the stability of an explanation's top-k features by MuS.

    Xue, Alur and Wong (2023), "Stability Guarantees for Feature Attributions with
    Multiplicative Smoothing" (NeurIPS): the model is smoothed over ``q`` derandomised
    keep-masks with keep probability ``lam`` (see :mod:`xplain.certification`), which makes it
    ``lam``-Lipschitz to masking; the radius ``r = (p_A - p_B) / (2 lam)`` then bounds how
    many features can be added to (incremental) or, from the full input, removed outside
    (decremental) the explanation without changing the smoothed class. The radii certify
    the smoothed model, not the raw one (``matches_model`` says whether they agree).

    Costs ``2 q`` mask evaluations through the explainer's interpretable view, scored as
    class probabilities whatever the explainer's ``output``.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: Any xplain Explanation of ``explainer``'s model.
        k: Features kept, the top-k by value on the view's features (None: a quarter of
            them, rounded up, the paper's top-25%); at most the view's feature count.
        lam: The keep probability lambda, in (0, 1]; smaller certifies larger radii of a
            model that sees less of its input.
        q: The number of keep-masks (``lam * q`` >= 1; ``lam * q`` an integer makes the
            keep probability exactly ``lam``).
        seed: Seed of the masks' per-feature offsets (None: not reproducible).

    Returns:
        Certificate: the binary explanation, smoothed probabilities and both radii.

    Raises:
        InvalidParameterError: a bad ``k``, ``lam``, ``q`` or ``seed``.
        MethodNotApplicableError: the adapter offers no perturbation view or no
            probabilities.
    """
    p = validate_params("certify", _PARAMS, {"k": k, "lam": lam, "q": q, "seed": seed})
    _n_kept(p["lam"], p["q"], "certify")
    adapter = explainer.adapter
    if not adapter.supports(InterpretableView):
        raise MethodNotApplicableError(
            f"certify masks features through the adapter's perturbation view, which "
            f"{type(adapter).__name__} does not offer."
        )
    if "probability" not in adapter.outputs:
        raise MethodNotApplicableError(
            f"certify needs the model's class probabilities (MuS bounds scores in [0, 1]); "
            f"{type(adapter).__name__} offers only {', '.join(adapter.outputs)}."
        )
    # imported here: xplain.metrics registers certified_radius, so imports this module
    from xplain.metrics._common import encode_again

    encoded = encode_again(explainer, explanation)
    view = adapter.view(InterpretableView, encoded, "probability")
    d = view.n_features
    if d == 0:
        raise InvalidParameterError(
            "certify: the explained instance has no features that can be masked (only special "
            "ones), so no explanation of it can be certified."
        )
    n_keep = math.ceil(d / 4) if p["k"] is None else p["k"]
    if n_keep > d:
        raise InvalidParameterError(
            f"The 'k' parameter of certify must be at most the {d} maskable features of this "
            f"instance. Got {n_keep}."
        )
    check_budget("certify", view, 2 * p["q"], "lower q")
    values = view.from_features(np.asarray(explanation.values, dtype=np.float64))  # [d]
    kept = np.zeros(d, dtype=bool)
    kept[np.argsort(-values, kind="stable")[:n_keep]] = True
    smoothed_model = SmoothedModel(view, p["lam"], p["q"], p["seed"])
    smoothed, smoothed_full = smoothed_model(np.stack([kept, np.ones(d, dtype=bool)]))
    lipschitz = smoothed_model.lipschitz
    label, p_a, p_b = _top_two(smoothed)
    full_label, full_a, full_b = _top_two(smoothed_full)
    model = np.asarray(view.scores, dtype=np.float64).reshape(-1)
    shown = view.to_features(kept.astype(np.float64)) > 0  # [n_total]
    return Certificate(
        method=explanation.method,
        features=[f for f, on in zip(explanation.features, shown, strict=True) if on],
        kept=kept,
        k=n_keep,
        lam=p["lam"],
        lipschitz=lipschitz,
        q=p["q"],
        seed=p["seed"],
        labels=list(adapter.labels),
        smoothed=smoothed,
        smoothed_full=smoothed_full,
        model=model,
        p_a=p_a,
        p_b=p_b,
        label=label,
        incremental_radius=(p_a - p_b) / (2 * lipschitz),
        decremental_radius=(full_a - full_b) / (2 * lipschitz),
        consistent=label == full_label,
        matches_model=full_label == int(np.argmax(model)),
        n_model_evals=2 * p["q"],
    )


def certified_radius(
    explainer: Explainer,
    explanation: Explanation,
    *,
    k: int | None = None,
    lam: float = 0.25,
    q: int = 64,
    seed: int | None = 0,
) -> float:
    """The MuS incremental radius of the explanation's top-k features (higher is better).

    Xue, Alur and Wong (2023): ``(p_A - p_B) / (2 lam)`` at the smoothed model's
    probabilities of the top-k features; adding fewer features than this to the
    explanation provably keeps the smoothed class. 0 when the explanation is not
    consistent (its smoothed class differs from the full input's): it then certifies
    nothing about the prediction. See :func:`certify`.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored.
        k: Features kept (None: a quarter of them, rounded up).
        lam: The keep probability lambda, in (0, 1].
        q: The number of keep-masks.
        seed: Seed of the masks' offsets (None: not reproducible).

    Returns:
        float: The radius, in features.
    """
    found = certify(explainer, explanation, k=k, lam=lam, q=q, seed=seed)
    return found.incremental_radius if found.consistent else 0.0
