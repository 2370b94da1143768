"""Base classes of explanation methods.

A method is one class in one file, registered with :func:`xplain.register_method`. It
declares its parameters (validated on construction), its family, the view type it runs
on (:mod:`xplain.views`: an adapter must offer that type or a subclass of it) and the
paper it comes from, and implements ``attribute(view, target)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import Param, validate_params
from xplain.limits import check_rows
from xplain.views import DifferentiableView, InterpretableView, View


@dataclass
class Attribution:
    """A method's raw result: values in the view's own shape, plus diagnostics.

    Attributes:
        values: The attributions in the view's shape (``[*S]`` for a differentiable view,
            one per view feature for the others), mapped to the Explanation's features
            by the view's ``to_features``.
        diagnostics: What the method reports about the run (e.g. ``completeness_gap``,
            ``base_value``, standard errors), kept in ``Explanation.diagnostics``.
        interactions: Pairwise values ``[d, d]`` in the Explanation's features (whose rows
            sum to the values), for methods that compute them (tree_shap); else None.
    """

    values: torch.Tensor | np.ndarray
    diagnostics: dict[str, Any] = field(default_factory=dict)
    interactions: np.ndarray | None = None


class Method(ABC):
    """An explanation method. Constructed with keyword parameters, which are validated."""

    name: ClassVar[str]
    family: ClassVar[str]  # "gradient" or "perturbation"
    # the view type it runs on, e.g. DifferentiableView (a legacy name such as
    # "differentiable" is still understood, see xplain.views.VIEW_NAMES)
    view: ClassVar[type[View] | str]
    reference: ClassVar[str] = ""
    parameters: ClassVar[Mapping[str, Param]] = {}
    # deprecated parameter names -> current ones (accepted with a DeprecationWarning)
    renamed: ClassVar[Mapping[str, str]] = {}
    # What the method promises on xplain.testing's known-truth models, checked by
    # check_method: "exact" (the true attributions), "gradient" (the true gradient, or its
    # magnitude), "ranking" (values ranked like the true attributions), or None (no promise
    # on these models: only a non-degenerate result is required).
    known_truth: ClassVar[str | None] = "ranking"

    def __init__(self, **params: Any) -> None:
        self.params = validate_params(self.name, self.parameters, params, self.renamed)
        # what the caller set, before a subclass resolves defaults in self.params (for repr)
        given = {self.renamed.get(k, k) if k not in self.parameters else k for k in params}
        self._given = {k: self.params[k] for k in self.parameters if k in given}

    @property
    def signed(self) -> bool:
        """Whether the values carry a direction (can be negative). False for methods that
        give magnitudes only (``|gradient|``, a ReLU'd map): reports draw those on a
        0..max scale instead of a diverging one. Subclasses override it (it may depend
        on the parameters, e.g. saliency's ``absolute``)."""
        return True

    def __repr__(self) -> str:
        changed = {
            k: v for k, v in self._given.items() if _differs(v, self.parameters[k].default)
        }
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    @abstractmethod
    def attribute(self, view: Any, target: int) -> Attribution:
        """Attributions for class ``target`` on ``view``."""

    def attribute_batch(self, views: Sequence[Any], targets: Sequence[int]) -> list[Attribution]:
        """Attributions of many instances: ``views[i]`` for class ``targets[i]``.

        ``explain_batch`` calls it once for all rows when a method overrides it (see
        :attr:`batched`); the result must equal ``attribute`` view by view. Views that an
        adapter built together (``Adapter.view_batch``) may share their parts (model,
        background), which is what lets an override compute them in one pass.
        """
        return [self.attribute(view, target) for view, target in zip(views, targets, strict=True)]

    @classmethod
    def unavailable(cls, module: torch.nn.Module | None) -> str | None:
        """Why the method cannot run on a model with this torch ``module`` (None: it can;
        ``module`` is None for models that are not torch modules)."""
        return None

    @classmethod
    def batched(cls) -> bool:
        """Whether the method computes :meth:`attribute_batch` in one pass (overrides it)."""
        return cls.attribute_batch is not Method.attribute_batch


class GradientMethod(Method):
    """A method over a :class:`DifferentiableView`.

    Subclasses implement ``attribute_points``: attributions at a batch of input points
    sharing the view's baseline. That is what lets a noise wrapper (SmoothGrad) run any
    gradient method on many noisy copies in one batched call.
    """

    family: ClassVar[str] = "gradient"
    view: ClassVar[type[View] | str] = DifferentiableView

    def attribute(self, view: DifferentiableView, target: int) -> Attribution:
        self.check_budget(view, 1)
        values, diagnostics = self.attribute_points(view, view.inputs, target)
        return Attribution(values[0], diagnostics)

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        """The most model rows ``attribute_points`` evaluates for ``n_points`` points (one
        gradient pass; methods that evaluate more override it).

        Args:
            view: The view the points belong to (its background may count).
            n_points: The number of input points attributed together.
        """
        return n_points

    def budget_fix(self) -> str | None:
        """Which parameter to lower when a call plans more model rows than ``xplain.limits``
        allow (None: the method has no budget parameter)."""
        return None

    def check_budget(self, view: DifferentiableView, n_points: int) -> None:
        """Refuse, before any model call, a call planning rows beyond ``xplain.limits``.

        Args:
            view: The view to be attributed.
            n_points: The number of input points attributed together.

        Raises:
            ResourceLimitError: :meth:`planned_rows` exceeds ``max_model_rows``.
        """
        fix = self.budget_fix() or "explain fewer inputs at once"
        check_rows(self.name, self.planned_rows(view, n_points), fix)

    @abstractmethod
    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Attributions ``[N, *S]`` at ``points`` ``[N, *S]`` and diagnostics.

        Args:
            view: The view supplying ``forward``, the baseline and the background.
            points: Input points ``[N, *S]``, e.g. ``view.inputs`` or noisy copies of it.
            target: The class index whose score is attributed.

        Returns:
            The attributions ``[N, *S]`` and a dict of diagnostics.
        """


class PerturbationMethod(Method):
    """A method over an :class:`InterpretableView` (binary masks -> scores)."""

    family: ClassVar[str] = "perturbation"
    view: ClassVar[type[View] | str] = InterpretableView
    # one name for model inputs per call across all methods (Captum's): masks per call here
    renamed: ClassVar[Mapping[str, str]] = {"batch_size": "internal_batch_size"}

    @abstractmethod
    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        """Attributions ``[d]`` for the view's active features.

        Args:
            view: The perturbation view (masks over ``d`` features -> scores).
            target: The class index whose score is attributed.
        """


def _differs(value: Any, default: Any) -> bool:
    """Whether ``value`` is not the default (values without a plain ``==`` differ)."""
    try:
        return not bool(value == default)
    except (TypeError, ValueError):  # arrays, tensors
        return True


def gradients(
    view: DifferentiableView, points: torch.Tensor, target: int, batch_size: int | None = None
) -> torch.Tensor:
    """d score[target] / d input at each point: ``[N, *S]`` -> ``[N, *S]``, in batches.

    Args:
        view: Supplies the differentiable ``forward``.
        points: Input points ``[N, *S]``.
        target: The class index whose score is differentiated.
        batch_size: Points per forward/backward pass; None: all at once.
    """
    step = batch_size or points.shape[0]
    out = []
    for start in range(0, points.shape[0], step):
        chunk = points[start : start + step].detach().requires_grad_(True)
        with torch.enable_grad():
            scores = view.forward(chunk)[:, target]
            (grad,) = torch.autograd.grad(scores.sum(), chunk)
        out.append(grad.detach())
    return torch.cat(out)
