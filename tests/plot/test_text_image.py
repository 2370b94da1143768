"""plot.text (a heat strip of words) and plot.image (a heat map over the grey instance):
diverging colours for signed values, sequential ones from 0 for unsigned values."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import Normalize
from plot_factories import make

import xplain
from xplain import plot
from xplain.plot._common import SEQUENTIAL
from xplain.plot.text import _layout

TOKENS = ["[CLS]", "a", "grip", "##ping", ",", "funny", "film", "[SEP]"]
OPTIONS = {"continuation": "##", "word_start": ["Ġ"]}


def _tokens(values, **kw):
    special = [True] + [False] * (len(TOKENS) - 2) + [True]
    return make(values, features=TOKENS, kind="tokens", special=special, options=OPTIONS, **kw)


def test_text_draws_each_token_as_read_on_its_diverging_colour():
    values = np.array([5.0, 0.2, -0.4, 0.8, 0.0, -0.1, 0.3, -5.0])
    ax = plot.text(_tokens(values))
    texts = ax.texts
    assert [t.get_text() for t in texts] == ["[CLS]", "a", "grip", "ping", ",", "funny",
                                            "film", "[SEP]"]
    cmap, norm = colormaps["RdBu_r"], Normalize(-0.8, 0.8)  # specials do not set the scale
    for t, value in zip(texts[1:-1], values[1:-1], strict=True):
        assert t.get_bbox_patch().get_facecolor() == pytest.approx(cmap(norm(value)))
    for special in (texts[0], texts[-1]):
        assert special.get_bbox_patch().get_facecolor()[3] == 0  # not coloured


def test_unsigned_text_is_on_a_sequential_scale_from_zero():
    values = np.array([0.0, 0.1, 0.4, 0.8, 0.0, 0.2, 0.05, 0.0])
    ax = plot.text(_tokens(values, signed=False, method="saliency"))
    cmap = colormaps[SEQUENTIAL]
    colours = [t.get_bbox_patch().get_facecolor() for t in ax.texts[1:-1]]
    assert colours == [pytest.approx(cmap(v / 0.8)) for v in values[1:-1]]
    # one hue family: every coloured cell has more blue than green (Purples), none is red
    assert all(b >= g and r <= b for r, g, b, _ in colours)
    colour_bar = ax.figure.axes[-1]
    assert "unsigned" in colour_bar.get_xlabel()


def test_a_word_is_glued_and_never_split_across_lines():
    # "grip" + "##ping" touch; "," starts a new word after a space
    places = _layout([True, True, False, True], [10.0, 20.0, 15.0, 5.0], 3.0, 1000.0)
    assert places[2][0] == places[1][0] + 20.0
    assert places[3][0] == places[2][0] + 15.0 + 3.0
    # too narrow for "grip"+"ping" after "a": the whole word moves to the next line
    narrow = _layout([True, True, False, True], [10.0, 20.0, 15.0, 5.0], 3.0, 45.0)
    assert [line for _, line in narrow] == [0, 1, 1, 1]
    assert narrow[1][0] == 0.0


def test_an_eleven_token_sentence_is_one_line():
    words = ["the", "film", "never", "once", "lets", "up", "and", "it", "ends", "too",
             "soon"]
    e = make(np.linspace(-1, 1, 11), features=words, kind="tokens")
    ax = plot.text(e)
    assert len({t.get_position()[1] for t in ax.texts}) == 1


def test_image_is_the_heat_map_over_the_grey_instance():
    rng = np.random.default_rng(0)
    pixels = rng.uniform(size=(4, 6, 3))
    values = rng.normal(size=24)
    e = make(values, kind="grid", shape=(4, 6), instance=pixels)
    ax = plot.image(e, alpha=0.4)
    grey, heat = ax.get_images()
    np.testing.assert_allclose(grey.get_array(), pixels.mean(-1))
    np.testing.assert_allclose(heat.get_array(), values.reshape(4, 6))
    assert grey.get_extent() == heat.get_extent() == [-0.5, 5.5, 3.5, -0.5]
    assert heat.get_alpha() == 0.4
    assert heat.get_cmap().name == "RdBu_r"
    assert heat.norm.vmin == -heat.norm.vmax == pytest.approx(-np.abs(values).max())


def test_unsigned_image_from_zero_and_integer_pixels_read_as_0_to_255():
    pixels = np.full((2, 2), 255, dtype=np.uint8)
    e = make([0.0, 1.0, 2.0, 4.0], kind="grid", shape=(2, 2), instance=pixels, signed=False)
    grey, heat = plot.image(e).get_images()
    np.testing.assert_allclose(grey.get_array(), np.ones((2, 2)))
    assert heat.get_cmap().name == SEQUENTIAL
    assert (heat.norm.vmin, heat.norm.vmax) == (0.0, 4.0)


def test_image_without_instance_is_the_heat_map_alone():
    (heat,) = plot.image(make([1.0, -1.0], kind="grid", shape=(1, 2))).get_images()
    assert heat.get_alpha() == 1.0


def test_image_refuses_what_is_not_a_grid_and_a_bad_alpha():
    with pytest.raises(xplain.InvalidInputError, match="2-D grid"):
        plot.image(make([1.0, 2.0]))
    with pytest.raises(xplain.InvalidParameterError, match="'alpha' parameter of plot.image"):
        plot.image(make([1.0, -1.0], kind="grid", shape=(1, 2)), alpha=2)


def test_image_colour_bar_names_the_scale():
    ax = plot.image(make([1.0, -1.0], kind="grid", shape=(1, 2)))
    assert "blue lowers" in ax.figure.axes[-1].get_xlabel()
