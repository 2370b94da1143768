"""Null players: features the view proves inert get exactly 0 and leave the game."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from synthetic_views import function_view, interaction_model, permutation_shapley

import xplain
from xplain.methods.perturbation.exact_shapley import ExactShapley
from xplain.methods.perturbation.kernel_shap import KernelShap

D, NULL = 6, 2


def view_with_an_inert_column(flag: bool):
    """An interaction model whose column NULL equals the instance in every background row."""
    rng = np.random.default_rng(3)
    x, background = rng.normal(size=D), rng.normal(size=(8, D))
    background[:, NULL] = x[NULL]
    view = function_view(interaction_model(D, 3), x, background)
    if flag:
        view.null_players = (background == x).all(0)
    return view


@pytest.mark.parametrize("target", [0, 1])
def test_exact_shapley_skips_them_and_keeps_every_other_value(target):
    flagged, plain = view_with_an_inert_column(True), view_with_an_inert_column(False)
    values = ExactShapley().attribute(flagged, target).values
    np.testing.assert_allclose(values, permutation_shapley(plain, target), atol=1e-12)
    assert values[NULL] == 0.0
    assert flagged.n_masks == 2 ** (D - 1) - 2  # half the game: the inert column left out


def test_kernel_shap_is_exact_once_the_budget_covers_the_smaller_game():
    flagged, plain = view_with_an_inert_column(True), view_with_an_inert_column(False)
    result = KernelShap(max_evals=2 ** (D - 1) - 2).attribute(flagged, 0)
    assert result.diagnostics["exact"] and result.diagnostics["null_players"] == 1
    assert result.values[NULL] == 0.0 and result.diagnostics["std_err"][NULL] == 0.0
    np.testing.assert_allclose(result.values, permutation_shapley(plain, 0), atol=1e-10)
    # the same budget without the flag cannot enumerate the 6-player game
    assert not KernelShap(max_evals=2 ** (D - 1) - 2).attribute(plain, 0).diagnostics["exact"]


def test_the_tabular_view_flags_columns_equal_in_the_row_and_the_whole_background():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "c": 1.0})
    model = LogisticRegression().fit(frame, (frame["a"] + frame["b"] > 0).astype(int))
    explainer = xplain.Explainer(model, data=frame, background_size=10)
    row = frame.iloc[0]
    e = explainer.explain(row, "kernel_shap")
    assert e.diagnostics["null_players"] == 1 and e.values[2] == 0.0
    shifted = row.copy()
    shifted["c"] = 2.0  # now replacing c changes the input: no longer a null player
    assert explainer.explain(shifted, "kernel_shap").diagnostics["null_players"] == 0
