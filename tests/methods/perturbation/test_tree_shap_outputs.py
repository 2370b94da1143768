"""tree_shap decides which score of a tree model it can explain (issue 11, part 3).

The tree view carries the explained output and the model's link facts; the choice of
shap's ``model_output`` and the refusals live in ``tree_shap``, not in the adapter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

import xplain
from xplain.adapters import TabularAdapter
from xplain.errors import MethodNotApplicableError
from xplain.methods.perturbation.tree_shap import shap_model_output
from xplain.views import TreeOutputs, TreeView


def view_of(output: str, outputs: TreeOutputs) -> TreeView:
    return TreeView(
        model=GradientBoostingClassifier(),
        row=np.zeros((1, 2)),
        background=None,
        output=output,
        outputs=outputs,
        class_index=int,
        to_features=np.asarray,
    )


# is_classifier, n_classes, link, leaves_hold_probabilities
BOOSTED = TreeOutputs(True, 2, "logistic", False)
MULTI = TreeOutputs(True, 3, "softmax", False)
FOREST = TreeOutputs(True, 2, None, True)
REGRESSOR = TreeOutputs(False, 1, None, False)
NO_LINK = TreeOutputs(True, 2, None, False)  # predict_proba is not sigmoid(margin)


@pytest.mark.parametrize(
    ("output", "facts", "expected"),
    [
        ("log_odds", BOOSTED, "raw"),  # a binary boosted model's margin is its log-odds
        ("probability", BOOSTED, "probability"),  # sigmoid of the margin, shap rescales
        ("raw", MULTI, "raw"),
        ("probability", FOREST, "raw"),  # the leaves are class frequencies
        ("prediction", REGRESSOR, "raw"),
    ],
)
def test_tree_shap_chooses_shaps_model_output(output, facts, expected) -> None:
    assert shap_model_output(view_of(output, facts)) == expected


@pytest.mark.parametrize(
    ("output", "facts", "why"),
    [
        ("log_odds", FOREST, "leaves hold class frequencies"),
        ("probability", MULTI, "softmax over all classes"),
        ("probability", NO_LINK, "not the sigmoid of its margin"),
    ],
)
def test_tree_shap_refuses_scores_shap_cannot_compute(output, facts, why) -> None:
    with pytest.raises(MethodNotApplicableError, match=why):
        shap_model_output(view_of(output, facts))


def test_the_adapter_builds_the_view_and_tree_shap_refuses() -> None:
    """A forest's log-odds: the adapter describes the model; tree_shap says no."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    forest = RandomForestClassifier(n_estimators=5, random_state=0)
    forest.fit(frame, frame["a"] > 0)
    adapter = TabularAdapter(forest, frame)
    view = adapter.tree_view(adapter.encode(frame.iloc[0]), "log_odds")
    assert view.output == "log_odds"
    assert view.outputs == FOREST
    explainer = xplain.Explainer(forest, data=frame, output="log_odds")
    with pytest.raises(MethodNotApplicableError, match="leaves hold class frequencies"):
        explainer.explain(frame.iloc[0], "tree_shap")
