"""Attribution to internal units: conductance and influence-directed explanations.

* :func:`layer_conductance`: each unit's share of f(x) - f(baseline) along the
  Integrated Gradients path (Dhamdhere et al. 2018).
* :func:`neuron_conductance`: one unit's conductance split over the input features.
* :func:`internal_influence`: the average gradient of a class score at each unit over a
  distribution of interest (Leino et al. 2018).

They take an :class:`xplain.Explainer` (text, tabular or image model in torch) and a
layer named as in ``dict(model.named_modules())``, and return a
:class:`LayerAttribution` (values per unit) or, for one unit, an Explanation.
"""

from xplain.internal.conductance import layer_conductance, neuron_conductance
from xplain.internal.influence import internal_influence
from xplain.internal.result import LayerAttribution

__all__ = ["LayerAttribution", "internal_influence", "layer_conductance", "neuron_conductance"]
