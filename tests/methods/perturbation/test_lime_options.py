"""LIME's sampling options live on ``lime`` (issue 11, part 3), not on the tabular adapter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from synthetic_views import linear_view

import xplain
from xplain.adapters import TabularAdapter
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods.perturbation._neighbourhood import neighbourhood
from xplain.methods.perturbation.lime import Lime
from xplain.metrics import max_sensitivity


@pytest.fixture(scope="module")
def linear_table():
    """A linear regression on three numeric columns of different scales."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(300, 3)) * [1.0, 5.0, 0.2] + [0.0, 10.0, -1.0], columns=["a", "b", "c"]
    )
    weights = np.array([2.0, -0.5, 3.0])
    model = LinearRegression().fit(frame, frame.to_numpy() @ weights + 1.0)
    return frame, model, weights


def test_gaussian_options_give_slopes_in_standard_deviations(linear_table) -> None:
    """Without bins, LIME represents a value by ``(value - mean) / std``: on a linear model
    its coefficients are ``w * std`` (up to Ridge(alpha=1) shrinkage), whether the samples
    are centred on the mean or on the row."""
    frame, model, weights = linear_table
    explainer = xplain.Explainer(model, data=frame)
    expected = weights * frame.to_numpy().std(0)
    for around in (False, True):
        values = explainer.explain(
            frame.iloc[3],
            "lime",
            num_samples=2000,
            discretize_continuous=False,
            sample_around_instance=around,
        ).values
        np.testing.assert_allclose(values, expected, rtol=0.01)
    # with bins (the default) the representation is binary and the slopes differ
    binned = explainer.explain(frame.iloc[3], "lime", num_samples=2000).values
    assert not np.allclose(binned, expected, rtol=0.1)


def test_sample_around_instance_centres_the_samples_on_the_row(linear_table) -> None:
    frame, model, _ = linear_table
    adapter = TabularAdapter(model, frame)
    row = frame.to_numpy()[7]
    view = adapter.interpretable_view(adapter.encode(frame.iloc[7]), "prediction")
    centred = (row - frame.to_numpy().mean(0)) / frame.to_numpy().std(0)
    for around, centre in ((False, np.zeros(3)), (True, centred)):
        hood = neighbourhood(
            view.distribution,
            4000,
            np.random.default_rng(0),
            discretize=False,
            discretizer="quartile",
            sample_around_instance=around,
        )
        np.testing.assert_allclose(hood.representation[1:].mean(0), centre, atol=0.05)


@pytest.mark.parametrize(("discretizer", "share"), [("quartile", 0.25), ("decile", 0.1)])
def test_discretizer_sets_the_bins(linear_table, discretizer, share) -> None:
    """A sample falls in the row's bin with the bin's training frequency: 1/4 or 1/10."""
    frame, model, _ = linear_table
    adapter = TabularAdapter(model, frame)
    view = adapter.interpretable_view(adapter.encode(frame.iloc[0]), "prediction")
    hood = neighbourhood(
        view.distribution,
        6000,
        np.random.default_rng(1),
        discretize=True,
        discretizer=discretizer,
        sample_around_instance=False,
    )
    np.testing.assert_allclose(hood.representation[1:].mean(0), share, atol=0.02)


def test_sampler_is_built_once_per_training_data_and_options(linear_table) -> None:
    frame, model, _ = linear_table
    explainer = xplain.Explainer(model, data=frame)
    for i in range(3):
        explainer.explain(frame.iloc[i], "lime", num_samples=50)
        explainer.explain(frame.iloc[i], "lime", num_samples=50, discretizer="decile")
    derived = explainer.adapter._training._derived
    assert len(derived) == 2  # one sampler per option set, shared by the rows


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("lime_discretize", "discretize_continuous"),
        ("lime_discretizer", "discretizer"),
        ("lime_sample_around_instance", "sample_around_instance"),
    ],
)
def test_adapter_lime_options_are_refused_naming_lime(linear_table, old, new) -> None:
    frame, model, _ = linear_table
    value = "decile" if old == "lime_discretizer" else False
    with pytest.raises(InvalidParameterError, match=f"{old}.*{new}={value!r}"):
        xplain.Explainer(model, data=frame, **{old: value})


def test_table_options_on_a_masked_view_are_refused() -> None:
    """A view without training data is masked (text, images): the options would be ignored."""
    view, _ = linear_view(4)
    with pytest.raises(InvalidParameterError, match="discretizer.*would be ignored"):
        Lime(discretizer="decile").attribute(view, 1)
    Lime().attribute(view, 1)  # the defaults are fine


def test_mask_sampling_on_a_table_row_is_refused(linear_table) -> None:
    """A table row's neighbourhood comes from training statistics: ``sampling`` (which
    masks) would be ignored there, so asking for lime_text's draw is refused."""
    frame, model, _ = linear_table
    explainer = xplain.Explainer(model, data=frame)
    with pytest.raises(InvalidParameterError, match="sampling='iid'.*would be ignored"):
        explainer.explain(frame.iloc[0], "lime", num_samples=50, sampling="iid")
    explainer.explain(frame.iloc[0], "lime", num_samples=50, sampling="stratified")


def test_max_sensitivity_still_refuses_lime_on_a_table(linear_table) -> None:
    frame, model, _ = linear_table
    explainer = xplain.Explainer(model, data=frame)
    explanation = explainer.explain(frame.iloc[0], "lime", num_samples=50)
    with pytest.raises(MethodNotApplicableError, match="training data"):
        max_sensitivity(explainer, explanation)
