"""Image adapter for torch image classifiers (CNNs and anything taking ``[N, C, H, W]``).

Pixel space: every image is brought to floats in [0, 1], shape ``[1, C, H, W]`` with C in
{1, 3, 4}; ``preprocess`` maps such a batch to the model's input (normalisation,
resizing) and must be differentiable (torch operations). Baselines ("black", "blurred",
"mean", "uniform") live in this pixel space.

Features. The Explanation of an image has one feature per pixel, named ``"(r, c)"`` in
row-major order, for every method, so that gradient maps, Grad-CAM, XRAI and superpixel
methods can be displayed, compared and evaluated on the same grid
(``explanation.values.reshape(explanation.image_shape)`` is the heat map).

* Gradient view: the pixels ``[1, C, H, W]``; per-channel attributions are reduced to one
  value per pixel by ``channel_aggregation``: ``"max_abs"`` (default) keeps, at each pixel,
  the channel value of largest magnitude with its sign (for saliency's absolute gradient
  this is Simonyan et al. 2014's ``max_c |w_c|``), ``"sum"`` adds the channels (keeps
  completeness), ``"l2"`` takes their Euclidean norm.
* Perturbation view: the features the methods perturb are the superpixels of
  ``segmentation`` (scikit-image SLIC by default); a removed segment shows the baseline
  image. A segment's value is spread evenly over its pixels (value / area), so summing
  the pixel values of a segment gives back the segment's attribution (for KernelSHAP,
  the pixel values still add up to f(x) - f(baseline)). The inverse direction of the
  view's :class:`~xplain.views.Groups` map sums pixel values per segment: that is how a
  per-pixel explanation from any method is scored by hiding segments (faithfulness
  metrics).
  :meth:`ImageAdapter.segments` gives the segment map of an image.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import (
    NONE,
    SEED,
    InstanceOf,
    Interval,
    Options,
    Param,
    Satisfies,
    validate_params,
)
from xplain.adapters._segmentation import SEGMENTATIONS, segment
from xplain.adapters.base import Encoded, TorchModelAdapter
from xplain.display import FeatureDisplay
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    XplainError,
)
from xplain.models.base import explained_scores
from xplain.models.torch import TorchClassifier
from xplain.views import Groups, InterpretableView, SpatialDifferentiableView, View

AGGREGATIONS = ("max_abs", "sum", "l2")
BASELINES = ("black", "blurred", "mean", "uniform")
CHANNELS = (1, 3, 4)
PIXELS_PER_CALL = 1 << 22  # default model batch: about this many input values per call


def _is_mean(value: Any) -> bool:
    items = value if isinstance(value, list | tuple | np.ndarray) else [value]
    if any(isinstance(v, str | bool | np.bool_) for v in np.ravel(np.asarray(items, object))):
        return False  # "0.5" and True would be read as numbers
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    return values.ndim == 1 and values.size >= 1 and bool(np.all((values >= 0) & (values <= 1)))


class ImageAdapter(TorchModelAdapter):
    """Explain a torch image classifier pixel by pixel (gradients) or by superpixels.

    Args:
        model: A torch module mapping images ``[N, C, H, W]`` (after ``preprocess``) to
            class scores ``[N, K]``.
        **params: ``preprocess`` (a differentiable callable: pixels in [0, 1] -> the
            model's input, e.g. normalisation; None: none), ``channel_aggregation``
            (``"max_abs"``, ``"sum"`` or ``"l2"``: channels -> one value per pixel;
            default ``"max_abs"``), ``baseline`` (the reference and removed-pixel image:
            ``"black"``, ``"blurred"``, ``"mean"`` or ``"uniform"``; default ``"black"``),
            ``mean`` (the dataset's mean colour in [0, 1], a float or one per channel,
            with ``baseline="mean"`` only), ``blur_sigma`` (Gaussian blur in pixels, > 0,
            with ``baseline="blurred"`` only; None: max(H, W) / 10), ``seed`` (noise of
            ``baseline="uniform"``; default 0), ``segmentation`` (the superpixels of the
            perturbation methods: ``"slic"``, ``"felzenszwalb"``, ``"quickshift"`` or
            ``"grid"``; default ``"slic"``), ``segmentation_params`` (a dict of keyword
            arguments of the algorithm), ``labels`` (class names in output order) and
            ``batch_size`` (images per model call; None: about 4M input values a call).

    Raises:
        InvalidParameterError: a parameter is unknown or out of range, ``mean`` or
            ``blur_sigma`` is given without its baseline, or a label repeats.
    """

    modality: ClassVar[str] = "image"
    parameters: ClassVar[dict[str, Param]] = {
        "preprocess": Param(
            None, NONE, Satisfies(callable, "a callable"), doc="pixels in [0, 1] -> model input"
        ),
        "channel_aggregation": Param("max_abs", Options(AGGREGATIONS), doc="channels -> pixel"),
        "baseline": Param("black", Options(BASELINES), doc="reference / removed-pixel image"),
        "mean": Param(
            None,
            NONE,
            Satisfies(_is_mean, "a float or a per-channel sequence of floats in [0, 1]"),
            doc="dataset mean colour for baseline='mean'",
        ),
        "blur_sigma": Param(
            None,
            NONE,
            Interval(float, 0, None, closed="neither"),
            doc="Gaussian blur in pixels for baseline='blurred' (None: max(H, W) / 10)",
        ),
        "seed": Param(0, SEED, doc="seed of the noise for baseline='uniform'"),
        "segmentation": Param("slic", Options(SEGMENTATIONS), doc="superpixels for masks"),
        "segmentation_params": Param(
            None, NONE, InstanceOf((dict,), "a dict"), doc="keyword arguments of the algorithm"
        ),
        "labels": Param(
            None, NONE, InstanceOf((list, tuple), "a list of class labels"), doc="class names"
        ),
        "batch_size": Param(None, NONE, Interval(int, 1), doc="images per model call"),
    }

    def __init__(self, model: Any, **params: Any) -> None:
        self.params = validate_params("ImageAdapter", self.parameters, params)
        if (self.params["baseline"] == "mean") != (self.params["mean"] is not None):
            raise InvalidParameterError(
                "The 'mean' parameter of ImageAdapter goes with baseline='mean' (the dataset "
                "mean colour, e.g. mean=(0.485, 0.456, 0.406)). Got "
                f"baseline={self.params['baseline']!r}, mean={self.params['mean']!r}."
            )
        if self.params["blur_sigma"] is not None and self.params["baseline"] != "blurred":
            raise InvalidParameterError(
                "The 'blur_sigma' parameter of ImageAdapter goes with baseline='blurred'; "
                f"with baseline={self.params['baseline']!r} it would be ignored. Got "
                f"blur_sigma={self.params['blur_sigma']!r}."
            )
        labels = [str(label) for label in self.params["labels"] or []]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise InvalidParameterError(
                "The 'labels' parameter of ImageAdapter must name each class once (a target "
                f"label must pick one class). Got {', '.join(map(repr, repeated))} more than "
                "once."
            )
        self.model = TorchClassifier(model, self.params["labels"])
        self._n_classes: int | None = None

    @property
    def labels(self) -> list[str]:
        if self._n_classes is None:
            return [str(label) for label in self.params["labels"] or []]
        return self.model.labels(self._n_classes)

    def view_types(self) -> tuple[type[View], ...]:
        """Gradients of the image (a spatial view) and masks over its segments."""
        return (SpatialDifferentiableView, InterpretableView)

    def torch_module(self) -> torch.nn.Module:
        return self.model.module


    def segments(self, instance: Any) -> np.ndarray:
        """The superpixels perturbation methods hide in ``instance``: labels ``[H, W]``."""
        pixels = to_pixels(instance)
        return segment(pixels, self.params["segmentation"], self.params["segmentation_params"])

    def split_batch(self, instances: Any) -> list[Any]:
        """The images of a batch: a list (or iterable) of images, or the first axis of a 4-D
        array ``[N, H, W, C]`` / tensor ``[N, C, H, W]``.

        A 3-D array or tensor is refused: it is one image (``[H, W, C]``, ``[C, H, W]``),
        which would otherwise be split into rows or channels, or an ambiguous stack of
        grey images.

        Args:
            instances: The batch passed to ``explain_batch``.

        Raises:
            InvalidInputError: a 3-D array or tensor, or a batch that is not iterable.
        """
        if isinstance(instances, np.ndarray | torch.Tensor) and instances.ndim != 4:
            layout = "[N, H, W, C]" if isinstance(instances, np.ndarray) else "[N, C, H, W]"
            raise InvalidInputError(
                f"explain_batch expects a list of images or a 4-D {layout} "
                f"{type(instances).__name__}. Got shape {list(instances.shape)}, which is "
                "one image (or a stack of grey images without a channel axis); use "
                "explain(image) for one image, or pass a list of images."
            )
        return super().split_batch(instances)

    # -- instance --------------------------------------------------------------------------
    def encode(self, instance: Any) -> Encoded:
        pixels = to_pixels(instance)  # [H, W, C] float64 in [0, 1]
        height, width, _ = pixels.shape
        dtype = _float_dtype(self.model.module)
        tensor = torch.as_tensor(pixels.transpose(2, 0, 1)[None].copy(), dtype=dtype)
        features = [f"({r}, {c})" for r in range(height) for c in range(width)]
        return Encoded(
            features=features,
            instance=pixels,
            data={"pixels": tensor, "baseline": self._baseline(pixels, dtype)},
        )

    def display(self, encoded: Encoded) -> FeatureDisplay:
        """A pixel grid ``[H, W]`` (one feature per pixel, row-major) over the image.

        Args:
            encoded: The image, from :meth:`encode`.
        """
        height, width = np.shape(encoded.instance)[:2]
        return FeatureDisplay("grid", shape=(height, width))

    def predict(self, encoded: Encoded) -> np.ndarray:
        pixels = encoded.data["pixels"]
        try:
            with torch.no_grad():
                logits = self._logits(pixels)
        except XplainError:
            raise
        except (RuntimeError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"The model failed on the image as a pixel tensor of shape "
                f"{list(pixels.shape)} (N, C, H, W) with values in [0, 1]"
                f"{' after preprocess' if self.params['preprocess'] else ''}: {exc}. Check the "
                "image size and channels the model expects, and pass preprocess= for "
                "normalisation or resizing."
            ) from exc
        given = self.params["labels"]
        if given is not None and len(given) != logits.shape[1]:
            # else the Explainer would fall back to "0", "1", ... without a word
            raise InvalidParameterError(
                f"The 'labels' parameter of ImageAdapter has {len(given)} labels, but the "
                f"model scores {logits.shape[1]} classes. Pass one label per class, in the "
                "model's output order."
            )
        self._n_classes = logits.shape[1]
        encoded.data["logits"] = logits[0].detach()
        if self.model.reader.note:  # the model returns probabilities, or one score
            encoded.notes["model_output"] = self.model.reader.note
        return torch.softmax(logits[0].double(), dim=-1).cpu().numpy()

    def _logits(self, pixels: torch.Tensor) -> torch.Tensor:
        """Model scores ``[N, C]`` of a pixel batch ``[N, C, H, W]`` in [0, 1]."""
        preprocess = self.params["preprocess"]
        # a copy in the standard layout: a model (or preprocess) that writes its input in
        # place, as Normalize(inplace=True) does, must not change the stored pixels or
        # baseline, nor a gradient leaf; the copy keeps the path to the pixels' gradient
        pixels = pixels.clone(memory_format=torch.contiguous_format)
        inputs = _preprocessed(preprocess, pixels) if preprocess is not None else pixels
        return self.model.logits(_standard_layout(inputs))

    def _baseline(self, pixels: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        """The reference image ``[1, C, H, W]`` of ``pixels`` ``[H, W, C]``."""
        kind = self.params["baseline"]
        height, width, channels = pixels.shape
        if kind == "black":
            image = np.zeros_like(pixels)
        elif kind == "blurred":
            from scipy.ndimage import gaussian_filter

            sigma = self.params["blur_sigma"] or max(height, width) / 10
            image = gaussian_filter(pixels, sigma=(sigma, sigma, 0), mode="nearest")
        elif kind == "uniform":
            image = np.random.default_rng(self.params["seed"]).random(pixels.shape)
        else:
            mean = np.atleast_1d(np.asarray(self.params["mean"], dtype=np.float64))
            if mean.size not in (1, channels):
                raise InvalidParameterError(
                    f"The 'mean' parameter of ImageAdapter must have 1 or {channels} values "
                    f"for this {channels}-channel image. Got {self.params['mean']!r}."
                )
            image = np.broadcast_to(mean, pixels.shape)
        return torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1))[None], dtype=dtype)

    # -- gradient view ---------------------------------------------------------------------
    def differentiable_view(self, encoded: Encoded, output: str) -> SpatialDifferentiableView:
        logits = encoded.data.get("logits")

        def forward(pixels: torch.Tensor) -> torch.Tensor:
            return explained_scores(self._logits(pixels), output)

        return SpatialDifferentiableView(
            inputs=encoded.data["pixels"],
            baseline=encoded.data["baseline"],
            forward=forward,
            aggregate=self.aggregate,
            scores=explained_scores(logits[None], output)[0] if logits is not None else None,
            module=self.model.module,
        )

    def aggregate(self, attributions: torch.Tensor) -> np.ndarray:
        """Per-channel attributions -> per-pixel values ``[H * W]``, by
        ``channel_aggregation``.

        Args:
            attributions: Attributions ``[C, H, W]`` (a tensor or array).
        """
        attr = np.asarray(torch.as_tensor(attributions).detach().double().cpu())
        rule = self.params["channel_aggregation"]
        if rule == "sum":
            values = attr.sum(0)
        elif rule == "l2":
            values = np.sqrt((attr**2).sum(0))
        else:  # the channel value of largest magnitude, sign kept
            pick = np.abs(attr).argmax(0)[None]
            values = np.take_along_axis(attr, pick, axis=0)[0]
        return values.reshape(-1)

    # -- perturbation view -----------------------------------------------------------------
    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        """Masks over the segments; its map spreads a segment's value over its pixels
        (value / area) and sums pixel values per segment back (:class:`Groups`).

        Args:
            encoded: The image, from :meth:`encode` (its segments are cached in it).
            output: The explained score, one of :attr:`outputs`.
        """
        if "segments" not in encoded.data:
            encoded.data["segments"] = self.segments(encoded.instance).reshape(-1)
        segments = encoded.data["segments"]  # [H * W]
        n_segments = int(segments.max()) + 1
        pixels, baseline = encoded.data["pixels"], encoded.data["baseline"]  # [1, C, H, W]
        shape = pixels.shape
        rows = self.params["batch_size"] or max(1, PIXELS_PER_CALL // pixels[0].numel())
        index = torch.as_tensor(segments)

        def evaluate(masks: np.ndarray) -> np.ndarray:
            masks = torch.as_tensor(np.array(masks, dtype=bool))  # [n, k], copied (read-only?)
            out = []
            for start in range(0, masks.shape[0], rows):
                keep = masks[start : start + rows][:, index].view(-1, 1, *shape[2:])  # [n,1,H,W]
                images = torch.where(keep, pixels, baseline)  # [n, C, H, W]
                with torch.no_grad():
                    out.append(explained_scores(self._logits(images), output))
            return torch.cat(out).double().cpu().numpy()

        scores = evaluate(np.ones((1, n_segments), dtype=bool))[0]
        base_scores = evaluate(np.zeros((1, n_segments), dtype=bool))[0]
        return InterpretableView(
            n_features=n_segments,
            evaluate=evaluate,
            scores=scores,
            base_scores=base_scores,
            feature_map=Groups(segments, n_segments),
        )


_NOT_TORCH = (
    "The preprocess given to ImageAdapter {how}, so a gradient method cannot differentiate "
    "the model's score with respect to the pixels. Write preprocess with torch operations "
    "on the tensor it receives (e.g. (x - mean) / std, torch.nn.functional.interpolate), or "
    "use a perturbation method (lime, kernel_shap, occlusion), which do not need gradients."
)


def _preprocessed(preprocess: Any, pixels: torch.Tensor) -> Any:
    """``preprocess(pixels)``, refusing a preprocess that cuts the gradient's path."""
    tracked = pixels.requires_grad and torch.is_grad_enabled()
    try:
        inputs = preprocess(pixels)
    except RuntimeError as exc:  # e.g. x.numpy() on a tensor that requires grad
        if tracked and "requires grad" in str(exc):
            how = f"failed on pixels that require gradients ({exc})"
            raise MethodNotApplicableError(_NOT_TORCH.format(how=how)) from exc
        raise
    if (
        tracked
        and isinstance(inputs, torch.Tensor)
        and inputs is not pixels
        and inputs.grad_fn is None
    ):
        how = (
            "returned a tensor not connected to its input (no grad_fn: it went through "
            "numpy, .detach() or torch.tensor)"
        )
        raise MethodNotApplicableError(_NOT_TORCH.format(how=how))
    if not isinstance(inputs, torch.Tensor):
        raise InvalidParameterError(
            "The preprocess given to ImageAdapter must return a torch.Tensor (the model's "
            f"input batch). Got {type(inputs).__name__}; write it with torch operations."
        )
    if inputs.ndim == 0 or inputs.shape[0] != pixels.shape[0]:
        got = "a scalar" if inputs.ndim == 0 else f"{inputs.shape[0]} image(s)"
        raise InvalidParameterError(
            f"The preprocess given to ImageAdapter must keep the batch: it received "
            f"{pixels.shape[0]} image(s) [N, C, H, W] and returned {got} (shape "
            f"{list(inputs.shape)}). Map each image of the batch, e.g. with operations on "
            "the whole tensor or torch.stack([... for image in x])."
        )
    return inputs


def _standard_layout(tensor: Any) -> Any:
    """``tensor`` with row-major strides; copied only when its strides differ.

    Baselines broadcast from numpy, ``expand``-ed path points and ``torch.where`` masks can
    have zero or permuted strides. On a 1-channel image such a tensor still counts as
    contiguous (strides of size-1 dimensions are ignored), so ``.contiguous()`` keeps it,
    conv2d then returns channels-last activations and a model's ``.view(n, -1)`` fails.
    """
    if not isinstance(tensor, torch.Tensor):
        return tensor  # a preprocess returning something else: the model wrapper says so
    standard, step = [], 1
    for size in reversed(tensor.shape):
        standard.append(step)
        step *= max(size, 1)
    if tuple(reversed(standard)) == tensor.stride():
        return tensor
    return tensor.clone(memory_format=torch.contiguous_format)


def _float_dtype(module: torch.nn.Module) -> torch.dtype:
    """The floating dtype of the model's parameters (float32 when it has none)."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def to_pixels(instance: Any) -> np.ndarray:
    """An image as float64 ``[H, W, C]`` in [0, 1] (C in 1, 3, 4); raises InvalidInputError.

    Accepts torch tensors ``[C, H, W]`` / ``[1, C, H, W]`` / ``[H, W]``, numpy arrays
    ``[H, W, C]`` / ``[1, H, W, C]`` / ``[H, W]`` and PIL images (see :func:`_pil_pixels`
    for each mode); integers are read as 0..255 (uint16 is refused), floats must lie in
    [0, 1].
    """
    if isinstance(instance, torch.Tensor):
        tensor = instance.detach().cpu()
        if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32):
            tensor = tensor.double()  # bfloat16 and float8 have no numpy twin
        array = tensor.numpy()
        array = _channels_last(array, "tensor", channels_first=True)
    elif isinstance(instance, np.ndarray):
        array = _channels_last(instance, "array", channels_first=False)
    elif type(instance).__module__.startswith("PIL."):
        array = _channels_last(_pil_pixels(instance), "array", channels_first=False)
    else:
        raise InvalidInputError(
            "An image explainer expects one image: a torch.Tensor [C, H, W], a numpy array "
            f"[H, W, C] or a PIL image. Got {type(instance).__name__}."
        )
    return _unit_range(array)


# PIL modes read through a conversion Pillow makes without loss for a model: one band ->
# grey, colour spaces -> RGB, any alpha kept (grey + alpha as RGBA), padding dropped.
_PIL_AS = {
    "1": "L",
    "L": "L",
    "LA": "RGBA",
    "PA": "RGBA",
    "RGB": "RGB",
    "RGBA": "RGBA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_PIL_16_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def _pil_pixels(image: Any) -> np.ndarray:
    """A PIL image's pixels as an ``[H, W]`` / ``[H, W, C]`` array that ``_unit_range`` reads.

    8-bit modes give uint8 (0..255), palettes their colours (RGBA when the palette has a
    transparent entry), 16-bit grey (``I;16*``) floats ``value / 65535`` and ``F`` its
    floats, which must already lie in [0, 1]. Mode ``I`` (32-bit ints, white level
    unknown) and the rest are refused.
    """
    mode = image.mode
    if mode in _PIL_16_BIT:
        return np.asarray(image).astype(np.float64) / 65535.0
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        finite = array[np.isfinite(array)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise InvalidInputError(
                f"A PIL image of mode 'F' must hold floats in [0, 1]. Got values in "
                f"[{finite.min():.4g}, {finite.max():.4g}]. Scale it first, e.g. "
                "np.asarray(image) / image.getextrema()[1], and give the model's "
                "normalisation as preprocess=..."
            )
        return array
    if mode == "P":
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))
    if mode in _PIL_AS:
        return np.asarray(image if image.mode == _PIL_AS[mode] else image.convert(_PIL_AS[mode]))
    if mode == "I":
        low, high = image.getextrema()
        raise InvalidInputError(
            f"A PIL image of mode 'I' holds 32-bit integers (here {low}..{high}) whose white "
            "level xplain cannot know. Pass the pixels scaled to [0, 1] yourself, e.g. "
            "np.asarray(image) / 65535 for 16-bit data."
        )
    raise InvalidInputError(
        f"PIL image mode {mode!r} is not supported. Supported modes: "
        f"{', '.join([*_PIL_AS, 'P', *_PIL_16_BIT, 'F'])}; convert it first, e.g. "
        "image.convert('RGB')."
    )


def _channels_last(array: np.ndarray, kind: str, channels_first: bool) -> np.ndarray:
    """``array`` as ``[H, W, C]``, with errors naming the shape received and the expected."""
    shape = tuple(array.shape)
    if array.size == 0:  # numpy's min/max of an empty array raise a bare ValueError later
        raise InvalidInputError(
            f"The image {kind} has no pixels (shape {list(shape)}); pass an image of at least "
            "1 x 1 pixels."
        )
    expected = "[C, H, W] or [1, C, H, W]" if channels_first else "[H, W, C] or [1, H, W, C]"
    if array.ndim == 4:
        if shape[0] != 1:
            raise InvalidInputError(
                f"Got a batch of {shape[0]} images (shape {list(shape)}); explain one image "
                f"at a time ({expected}), or use explain_batch for many."
            )
        array = array[0]
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise InvalidInputError(
            f"An image {kind} must have shape {expected} (or [H, W] for grey). Got shape "
            f"{list(shape)}."
        )
    lead, last = array.shape[0], array.shape[-1]
    if channels_first:
        if lead in CHANNELS:
            return array.transpose(1, 2, 0)
        if last in CHANNELS:
            raise InvalidInputError(
                f"The image tensor has shape {list(shape)}, which looks channels-last "
                "([H, W, C]); torch images are channels-first [C, H, W]: pass "
                "image.permute(2, 0, 1)."
            )
    else:
        if last in CHANNELS:
            return array
        if lead in CHANNELS:
            raise InvalidInputError(
                f"The image array has shape {list(shape)}, which looks channels-first "
                "([C, H, W]); numpy images are channels-last [H, W, C]: pass "
                "np.transpose(image, (1, 2, 0)) or a torch tensor."
            )
    raise InvalidInputError(
        f"An image {kind} must have shape {expected} with C in {{1, 3, 4}} channels. Got "
        f"shape {list(shape)}."
    )


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Integers 0..255 -> [0, 1]; floats are checked to be finite and in [0, 1].

    Complex pixels and 16-bit unsigned integers are refused: dropping an imaginary part
    loses data, and uint16 data may be 0..255 or 0..65535 (PIL's ``I;16`` images, read
    as value / 65535, say which).
    """
    if (
        array.dtype == bool
        or not np.issubdtype(array.dtype, np.number)
        or np.issubdtype(array.dtype, np.complexfloating)
    ):
        raise InvalidInputError(
            f"Image pixels must be integers 0..255 or floats in [0, 1]. Got dtype {array.dtype}"
            f"{' (complex numbers)' if np.iscomplexobj(array) else ''}."
        )
    if array.dtype == np.uint16:
        raise InvalidInputError(
            "Image pixels of dtype uint16 are ambiguous: 16-bit data (0..65535) or 8-bit "
            f"values (0..255)? Got values in [{int(array.min())}, {int(array.max())}]. Pass "
            "floats in [0, 1]: image / 65535 for 16-bit data, image / 255 for 8-bit values "
            "(a 16-bit PIL image, mode 'I;16', is read as value / 65535)."
        )
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InvalidInputError(
                f"Integer pixels must lie in 0..255. Got values in [{low}, {high}]."
            )
        return array.astype(np.float64) / 255.0
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InvalidInputError(
            f"The image has {int((~np.isfinite(array)).sum())} non-finite pixel values "
            "(NaN or inf); pass a finite image."
        )
    low, high = float(array.min()), float(array.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise InvalidInputError(
            f"Float pixels must lie in [0, 1]. Got values in [{low:.4g}, {high:.4g}]. Pass "
            "unnormalised pixels (divide 0..255 by 255) and give the model's normalisation "
            "as preprocess=..."
        )
    return np.clip(array, 0.0, 1.0)
