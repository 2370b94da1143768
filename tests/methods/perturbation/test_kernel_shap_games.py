"""kernel_shap over baseline games (one per background row), as on tabular views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from synthetic_views import interaction_view, permutation_shapley, shared_columns_view

import xplain
from xplain.errors import InvalidParameterError
from xplain.methods.perturbation._baseline_games import allocate_rows, least_rows
from xplain.methods.perturbation._sampling import shapley_design
from xplain.methods.perturbation.exact_shapley import ExactShapley
from xplain.methods.perturbation.kernel_shap import KernelShap


def count_model_calls(explainer: xplain.Explainer) -> list[int]:
    """Rows of each call the explainer's tabular model gets from now on."""
    calls: list[int] = []
    score = explainer.adapter.model.scores
    explainer.adapter.model.scores = lambda frame, output: (
        calls.append(len(frame)) or score(frame, output)
    )
    return calls


def game_sizes(view) -> np.ndarray:
    return np.array([p.shape[0] for p in view.baseline_games.players])


def test_exact_once_every_game_is_enumerated() -> None:
    view = shared_columns_view(7, seed=1)
    sizes = game_sizes(view)
    assert sizes.max() < 7  # the games are smaller than the mean game
    cost = int(sum(2**m - 2 for m in sizes if m >= 2))
    result = KernelShap(max_evals=-(-cost // 8)).attribute(view, 1)  # rows = max_evals * K
    assert result.diagnostics["n_coalitions"] == cost == view.n_masks  # model rows
    np.testing.assert_allclose(result.values, permutation_shapley(view, 1), atol=1e-12)
    assert result.diagnostics["exact"] and result.diagnostics["exact_games"] == 8
    np.testing.assert_array_equal(result.diagnostics["std_err"], 0.0)
    assert result.diagnostics["efficiency_gap"] < 1e-12


@pytest.fixture(scope="module")
def exact_shared16() -> np.ndarray:
    """Exact Shapley values of class 1 on ``shared_columns_view(16)`` (all 2^16 coalitions)."""
    return np.asarray(ExactShapley().attribute(shared_columns_view(16, games=False), 1).values)


@pytest.mark.parametrize("target", [0, 1])
def test_efficiency_is_exact_and_the_seed_fixes_the_result(target: int) -> None:
    view = shared_columns_view(16)
    first = KernelShap(max_evals=64, seed=3).attribute(view, target)
    assert first.diagnostics["n_coalitions"] == view.n_masks <= 64 * 8
    again = KernelShap(max_evals=64, seed=3).attribute(shared_columns_view(16), target)
    other = KernelShap(max_evals=64, seed=4).attribute(shared_columns_view(16), target)
    total = view.scores[target] - view.base_scores[target]
    assert abs(first.values.sum() - total) < 1e-10
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.allclose(first.values, other.values)


def test_converges_and_beats_the_mean_game_at_equal_model_rows(exact_shared16) -> None:
    def error(games: bool, budget: int, seed: int) -> float:
        view = shared_columns_view(16, games=games)
        values = KernelShap(max_evals=budget, seed=seed).attribute(view, 1).values
        return float(np.abs(values - exact_shared16).mean())

    games = {b: np.mean([error(True, b, s) for s in range(3)]) for b in (64, 256, 1024)}
    mean_game = np.mean([error(False, 256, s) for s in range(3)])  # 256 x 8 rows as well
    assert games[1024] < games[256] < games[64]
    assert games[256] < 0.5 * mean_game


def test_standard_errors_cover_the_true_error_at_the_nominal_rate(exact_shared16) -> None:
    covered = []
    for seed in range(30):
        result = KernelShap(max_evals=128, seed=seed).attribute(shared_columns_view(16), 1)
        assert 0 < result.diagnostics["exact_games"] < 8
        error = np.abs(result.values - exact_shared16)
        covered.append(error <= 1.96 * result.diagnostics["std_err"])
    rate = np.mean(covered)  # 480 feature x seed checks
    assert 0.88 <= rate <= 0.99, rate


def test_games_too_large_to_enumerate_fall_back_to_the_mean_game() -> None:
    """With no background value shared, the games have all 16 players and none can be
    enumerated: the mean game's common coalitions are used, as without games."""
    with_games = KernelShap(max_evals=256, seed=1).attribute(interaction_view(16, games=True), 1)
    plain = KernelShap(max_evals=256, seed=1).attribute(interaction_view(16), 1)
    np.testing.assert_array_equal(with_games.values, plain.values)
    assert "games" not in with_games.diagnostics


def test_rows_go_to_games_by_weight_times_players_within_their_bounds() -> None:
    sizes, weights = np.array([3, 8, 12, 12, 1]), np.array([0.2, 0.2, 0.2, 0.4, 0.0])
    counts = allocate_rows(sizes, weights, 1000)
    assert counts.sum() == 1000
    assert counts[0] == 6 and counts[4] == 0  # 2^3 - 2: enumerated; weight 0: nothing
    assert counts[3] == pytest.approx(2 * counts[2], abs=1)  # twice the weight
    assert counts[2] == pytest.approx(1.5 * counts[1], abs=1)  # 12 vs 8 players
    small = allocate_rows(sizes, weights, 70)  # below 2 m + 4 each: the 2 m minimum
    assert small.tolist() == [6, 16, 24, 24, 0]
    every = allocate_rows(sizes, weights, 10**6)
    assert every.tolist() == [6, 254, 4094, 4094, 0]
    assert least_rows(np.array([0, 1, 2, 3, 8])).tolist() == [0, 0, 2, 6, 16]


def test_a_budget_of_only_the_outer_sizes_estimates_without_a_standard_error() -> None:
    design = shapley_design(6, 12, True, np.random.default_rng(0))
    assert design.masks.shape[0] == 12 and not design.exact
    view = interaction_view(6)
    result = KernelShap(max_evals=12).attribute(view, 1)
    assert np.isfinite(result.values).all() and np.isinf(result.diagnostics["std_err"]).all()
    assert not result.diagnostics["converged"]


@pytest.fixture(scope="module")
def categorical_table():
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 70, n),
            "hours": rng.choice([20, 40, 40, 40, 60], n),
            "sex": rng.choice(["F", "M"], n),
            "job": rng.choice(["a", "b", "c"], n),
            "score": rng.normal(size=n).round(1),
            "city": rng.choice(["x", "y"], n),
        }
    )
    y = ((frame["age"] > 40) ^ (frame["sex"] == "M") | (frame["score"] > 1)).astype(int)
    encoded = pd.get_dummies(frame, dtype=float)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0)
    model.fit(encoded, y)

    def predict(table: pd.DataFrame) -> np.ndarray:
        dummies = pd.get_dummies(table, dtype=float).reindex(columns=encoded.columns)
        return model.predict_proba(dummies.fillna(0.0))

    return frame, predict


def test_tabular_view_matches_exact_shapley_and_batches_rows(categorical_table) -> None:
    frame, predict = categorical_table
    explainer = xplain.Explainer(
        predict, data=frame, background_size=12, labels=["no", "yes"], categorical=["sex"]
    )
    rows = frame.iloc[:3]
    exact = [explainer.explain(rows.iloc[i], "exact_shapley", target=1) for i in range(3)]
    calls = count_model_calls(explainer)
    batch = explainer.explain_batch(rows, "kernel_shap", target=1, max_evals=64)
    for e, reference in zip(batch, exact, strict=True):
        assert e.diagnostics["games"] == 12 and e.diagnostics["exact"]
        np.testing.assert_allclose(e.values, reference.values, atol=1e-12)
    # one call predicts the rows, one scores every row's games
    assert calls == [3, sum(e.diagnostics["n_coalitions"] for e in batch)]
    small = explainer.explain(rows.iloc[0], "kernel_shap", target=1, max_evals=12)
    assert not small.diagnostics["exact"] and small.diagnostics["n_coalitions"] <= 12 * 12
    assert np.abs(small.values - exact[0].values).max() < 0.05
    assert small.values.sum() == pytest.approx(exact[0].values.sum(), abs=1e-12)


def test_exact_shapley_reference_is_the_same_game(categorical_table) -> None:
    """The baseline-games hybrids and the mean game's evaluate give the same scores."""
    frame, predict = categorical_table
    explainer = xplain.Explainer(predict, data=frame, background_size=5, labels=["no", "yes"])
    adapter = explainer.adapter
    view = adapter.interpretable_view(adapter.encode(frame.iloc[7]), explainer.output)
    games = view.baseline_games
    masks = np.random.default_rng(0).random((9, 6)) < 0.5
    per_game = np.stack(
        [games.score(games.hybrids(np.full(9, k), masks)) for k in range(5)], axis=1
    )  # [9, K, C]
    np.testing.assert_allclose(
        np.einsum("nkc,k->nc", per_game, games.weights), view.evaluate(masks), atol=1e-12
    )
    np.testing.assert_allclose(games.weights @ games.empty_scores, view.base_scores)
    assert ExactShapley().attribute(view, 1).values.shape == (6,)


def test_too_small_a_budget_names_the_minimum_over_the_games() -> None:
    view = shared_columns_view(16)
    least = sum(min(2 * p.shape[0], 2 ** p.shape[0] - 2) for p in view.baseline_games.players)
    needed = -(-least // 8)
    KernelShap(max_evals=needed).attribute(view, 1)  # the minimum itself is enough
    message = rf"at least {needed} .*in each of 8 background rows.*Got {needed - 1}"
    with pytest.raises(InvalidParameterError, match=message):
        KernelShap(max_evals=needed - 1).attribute(view, 1)


def test_order_three_in_the_sampled_games() -> None:
    """Seven of eight games enumerated, the ten-player one sampled: its 3-additive fit
    cuts the error by more than 5x."""
    exact = ExactShapley().attribute(shared_columns_view(16, seed=2, games=False), 1).values
    errors = {}
    for order in (1, 3):
        runs = [
            KernelShap(max_evals=300, seed=s, order=order).attribute(
                shared_columns_view(16, seed=2), 1
            )
            for s in range(3)
        ]
        assert all(r.diagnostics["exact_games"] == 7 for r in runs)
        errors[order] = np.mean([np.abs(r.values - exact).mean() for r in runs])
    assert errors[3] < errors[1] / 5


def test_large_batches_are_scored_in_several_calls(categorical_table, monkeypatch) -> None:
    import xplain.methods.perturbation.kernel_shap as module

    frame, predict = categorical_table
    explainer = xplain.Explainer(predict, data=frame, background_size=12, labels=["no", "yes"])
    rows = frame.iloc[:3]
    whole = explainer.explain_batch(rows, "kernel_shap", target=1, max_evals=40, seed=1)
    calls = count_model_calls(explainer)
    monkeypatch.setattr(module, "ROWS_PER_CALL", 1)  # every row over the cap: one call each
    split = explainer.explain_batch(rows, "kernel_shap", target=1, max_evals=40, seed=1)
    assert calls[1:] == [e.diagnostics["n_coalitions"] for e in split]
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(a.values, b.values)


def test_wide_hybrids_are_built_and_scored_a_slice_at_a_time(
    categorical_table, monkeypatch
) -> None:
    import xplain.methods.perturbation.kernel_shap as module

    frame, predict = categorical_table
    explainer = xplain.Explainer(predict, data=frame, background_size=12, labels=["no", "yes"])
    rows = frame.iloc[:3]
    whole = explainer.explain_batch(rows, "kernel_shap", target=1, max_evals=40, seed=1)
    calls = count_model_calls(explainer)
    width = 8 * frame.shape[1]  # bytes of one hybrid: a float64 schema row
    monkeypatch.setattr(module, "HYBRID_BYTES", 50 * width)  # 50 hybrids per call
    split = explainer.explain_batch(rows, "kernel_shap", target=1, max_evals=40, seed=1)
    total = sum(e.diagnostics["n_coalitions"] for e in split)
    assert calls[1:-1] == [50] * (len(calls) - 2) and 0 < calls[-1] <= 50  # after the prediction
    assert sum(calls[1:]) == total > 150
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_array_equal(a.values, b.values)


def test_default_order_is_three_on_the_mean_game_and_one_on_baseline_games() -> None:
    """``order=None`` fits interactions where one design serves every row (the mean game)
    and the additive fit in baseline games, each of which has its own design to factorise."""
    games = shared_columns_view(16)
    budget = 512  # games of up to 11 players: two sampled, with room for order 3
    default = KernelShap(max_evals=budget).attribute(games, 1)
    assert not default.diagnostics["exact"]
    np.testing.assert_array_equal(
        default.values, KernelShap(max_evals=budget, order=1).attribute(games, 1).values
    )
    assert not np.allclose(
        default.values, KernelShap(max_evals=budget, order=3).attribute(games, 1).values
    )
    mean_game = interaction_view(10)
    values = KernelShap(max_evals=600).attribute(mean_game, 1).values
    np.testing.assert_array_equal(
        values, KernelShap(max_evals=600, order=3).attribute(mean_game, 1).values
    )
    additive = KernelShap(max_evals=600, order=1).attribute(mean_game, 1).values
    assert not np.allclose(values, additive)
