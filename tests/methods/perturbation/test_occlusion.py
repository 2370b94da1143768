"""occlusion: leave-one-out and sliding windows, checked against Captum's Occlusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_views import function_view, interaction_view, linear_view, two_outputs

from xplain.errors import InvalidParameterError
from xplain.methods.perturbation._sampling import occlusion_windows
from xplain.methods.perturbation.occlusion import Occlusion
from xplain.registry import get_method


def test_leave_one_out_by_hand() -> None:
    view = interaction_view(7)
    values = Occlusion().attribute(view, 1).values
    for i in range(7):
        mask = np.ones((1, 7), dtype=bool)
        mask[0, i] = False
        assert values[i] == pytest.approx(view.scores[1] - view.evaluate(mask)[0, 1], abs=1e-12)


def test_linear_model_gives_weight_times_deviation() -> None:
    view, expected = linear_view(9)
    result = Occlusion().attribute(view, 1)
    np.testing.assert_allclose(result.values, expected, atol=1e-12)
    assert result.diagnostics["n_windows"] == 9 and view.n_masks == 9


def nonlinear(z: np.ndarray) -> np.ndarray:
    return np.tanh(z[:, :-1] * z[:, 1:]).sum(1) + np.sin(z).prod(1)


@pytest.mark.parametrize(("d", "window", "stride"), [(7, 3, 1), (8, 3, 2), (9, 4, 3), (6, 2, 2)])
def test_sliding_windows_equal_captum(d: int, window: int, stride: int) -> None:
    from captum.attr import Occlusion as CaptumOcclusion

    rng = np.random.default_rng(d)
    x, baseline = rng.normal(size=d), rng.normal(size=(1, d))
    view = function_view(lambda z: two_outputs(nonlinear(z)), x, baseline)
    ours = Occlusion(window=window, stride=stride).attribute(view, 1).values

    def forward(t: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(two_outputs(nonlinear(t.numpy())))

    theirs = CaptumOcclusion(forward).attribute(
        torch.as_tensor(x[None]),
        sliding_window_shapes=(window,),
        strides=stride,
        baselines=torch.as_tensor(baseline),
        target=1,
    )
    np.testing.assert_allclose(ours, theirs[0].numpy(), atol=1e-12)


def test_windows_cover_every_feature() -> None:
    hidden = occlusion_windows(10, 4, 3)
    assert hidden.sum(0).min() >= 1
    assert hidden[:, -1].any() and hidden[0, :4].all()
    assert hidden.shape[0] == 3  # starts 0, 3, 6: the last reaches the end


def test_window_longer_than_the_input_is_shortened() -> None:
    view, _ = linear_view(3)
    result = Occlusion(window=5, stride=2).attribute(view, 1)
    assert result.diagnostics["n_windows"] == 1
    assert "window=5" in result.diagnostics["window_shortened"]
    total = view.scores[1] - view.base_scores[1]
    np.testing.assert_allclose(result.values, total)


def test_batches() -> None:
    view = interaction_view(10)
    Occlusion(batch_size=4).attribute(view, 0)
    assert [len(c) for c in view.calls] == [4, 4, 2]


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match=r"'window' parameter of occlusion .*Got 0"):
        Occlusion(window=0)
    with pytest.raises(InvalidParameterError, match="'stride'.*Got 0"):
        Occlusion(stride=0)
    with pytest.raises(InvalidParameterError, match=r"'stride' parameter .*<= window=2.*Got 3"):
        Occlusion(window=2, stride=3)


def test_registered() -> None:
    assert get_method("occlusion") is Occlusion


def test_on_text_window_over_tokens(text_explainer) -> None:
    text = "a gripping, well acted film"
    single = text_explainer.explain(text, method="occlusion", target=0)
    window = text_explainer.explain(text, method="occlusion", target=0, window=3)
    assert single.values[single.special].tolist() == [0.0, 0.0]
    assert window.values[window.special].tolist() == [0.0, 0.0]
    assert single.n_model_evals == 6 + 3  # one per token, + prediction, full and empty
    assert window.diagnostics["n_windows"] == 4
    assert not np.allclose(single.values, window.values)
