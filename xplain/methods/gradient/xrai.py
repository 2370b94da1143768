"""XRAI: region-based saliency from Integrated Gradients over multi-scale segments."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch

from xplain._optional import skimage_segmentation
from xplain._validation import NONE, Interval, Param, Satisfies
from xplain.methods.base import GradientMethod
from xplain.methods.gradient.grad_cam import in_first_channel
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.registry import register_method
from xplain.views import DifferentiableView, SpatialDifferentiableView, View

REFERENCE_SIDE = 224  # the reference implementation segments images resized to 224 x 224
SCALES = (50.0, 100.0, 150.0, 250.0, 500.0, 1200.0)  # its Felzenszwalb scales


def _positive_numbers(value: Any) -> bool:
    return (
        len(value) > 0
        and all(0 < float(v) < math.inf for v in value)
        and not isinstance(value, str)
    )


@register_method
class Xrai(GradientMethod):
    """Rank image regions by their density of Integrated Gradients attribution.

    Kapishnikov, Bolukbasi, Viégas and Terry (2019), "XRAI: Better Attributions Through
    Regions" (ICCV), following the authors' implementation (PAIR-code/saliency):

    1. Integrated Gradients (``n_steps`` Gauss-Legendre points) from a black (all 0) and a
       white (all 1) baseline in pixel space, averaged; channels merged by their maximum.
    2. Over-segmentation with Felzenszwalb's algorithm at several ``scales`` (``sigma``,
       ``min_segment_size``) on the image rescaled to [-1, 1] and resized to 224 x 224, the
       segments resized back and dilated by ``dilation`` pixels.
    3. Greedy growth: starting from nothing, add the region whose not-yet-covered pixels
       have the highest mean attribution (gain per area), skipping regions that would add
       fewer than ``min_pixel_diff`` pixels, until ``area_threshold`` of the image is
       covered. Each pixel's value is the gain density of the region that added it (pixels
       never added get the mean attribution of the rest), so the values rank regions as the
       paper does (the top 10% of pixels by value are its "top 10% regions") and sum to
       the averaged IG attribution.

    Defaults of size-dependent parameters scale with the image (the reference's 5 px
    dilation and 50 px minimum gain are for 224 x 224 images). The map is returned in the
    first input channel, like Grad-CAM's. Diagnostics: ``completeness_gap`` (worse of the
    two IG runs), ``n_regions`` added and ``n_candidate_regions``.
    """

    name: ClassVar[str] = "xrai"
    view: ClassVar[type[View] | str] = SpatialDifferentiableView  # needs the image layout
    reference: ClassVar[str] = "Kapishnikov et al. 2019, arXiv:1906.02825"
    # ranks regions of its own segmentation by IG from its own black and white baselines:
    # no per-pixel closed form on xplain.testing's linear model
    known_truth: ClassVar[str | None] = None
    parameters = {
        "n_steps": Param(32, Interval(int, 1), doc="IG points per baseline"),
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="rows per forward/backward"),
        "scales": Param(
            SCALES,
            Satisfies(_positive_numbers, "a non-empty sequence of finite numbers > 0"),
            doc="Felzenszwalb scales (at 224 x 224)",
        ),
        "sigma": Param(
            0.8, Interval(float, 0, None), doc="Felzenszwalb pre-smoothing"
        ),
        "min_segment_size": Param(150, Interval(int, 1), doc="Felzenszwalb min_size at 224 x 224"),
        "dilation": Param(
            None, Interval(int, 0), NONE, doc="segment dilation radius (None: 5 px at side 224)"
        ),
        "min_pixel_diff": Param(
            None, Interval(int, 1), NONE, doc="least new pixels of a region (None: 50 at 224^2)"
        ),
        "area_threshold": Param(
            1.0, Interval(float, 0, 1, closed="right"), doc="fraction of the image to rank"
        ),
    }

    def budget_fix(self) -> str:
        return "lower n_steps"

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        return 2 * self._ig().planned_rows(view, n_points)  # from black and from white

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        attr, gap = self._integrated_gradients(view, points, target)  # [N, H, W]
        maps, n_regions, n_candidates = [], 0, 0
        for image, pixel_attr in zip(points, attr, strict=True):
            regions = self._regions(image.detach().permute(1, 2, 0).cpu().double().numpy())
            saliency, n_regions = self._greedy(pixel_attr.reshape(-1), regions)
            n_candidates = regions.shape[0]
            maps.append(torch.as_tensor(saliency.reshape(attr.shape[1:]), dtype=points.dtype))
        out = torch.stack(maps)[:, None]  # [N, 1, H, W]
        diagnostics = {
            "completeness_gap": gap,
            "n_regions": n_regions,
            "n_candidate_regions": n_candidates,
        }
        return in_first_channel(out, points.shape[1]), diagnostics

    def _integrated_gradients(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[np.ndarray, float]:
        """IG from black and white, averaged, channels merged by max: ``[N, H, W]``."""
        ig = self._ig()
        total, gaps = torch.zeros_like(points), []
        for fill in (0.0, 1.0):
            baseline = torch.full_like(view.inputs, fill)
            attr, diagnostics = ig.attribute_points(
                replace(view, baseline=baseline), points, target
            )
            total += attr / 2
            gaps.append(diagnostics["completeness_gap"])
        return total.max(dim=1).values.double().cpu().numpy(), max(gaps)

    def _ig(self) -> IntegratedGradients:
        return IntegratedGradients(
            n_steps=self.params["n_steps"],
            internal_batch_size=self.params["internal_batch_size"],
        )

    def _regions(self, image: np.ndarray) -> np.ndarray:
        """Candidate regions ``[M, H * W]`` (bool) of ``image`` ``[H, W, C]``, all scales."""
        from scipy.ndimage import distance_transform_edt
        from skimage.transform import resize

        segmentation = skimage_segmentation()
        height, width, channels = image.shape
        low, high = float(image.min()), float(image.max())
        unit = (image - low) / (high - low) if high > low else np.zeros_like(image)
        big = resize(
            unit * 2 - 1,
            (REFERENCE_SIDE, REFERENCE_SIDE),
            order=3,
            mode="constant",
            preserve_range=True,
            anti_aliasing=True,
        )
        gray = channels == 1
        radius = self.params["dilation"]
        if radius is None:
            radius = round(5 * max(height, width) / REFERENCE_SIDE)
        regions = []
        for scale in self.params["scales"]:
            labels = segmentation.felzenszwalb(
                big[..., 0] if gray else big[..., :3],
                scale=float(scale),
                sigma=self.params["sigma"],
                min_size=self.params["min_segment_size"],
                channel_axis=None if gray else -1,
            )
            small = resize(
                labels, (height, width), order=0, preserve_range=True, anti_aliasing=False
            ).astype(np.int64)
            for label in np.unique(small):
                mask = small == label
                if radius:
                    # dilation by a disk of ``radius`` pixels: the pixels within that
                    # Euclidean distance of the mask; O(H * W) whatever the radius (a
                    # [2r + 1, 2r + 1] footprint would not fit in memory for a large one)
                    mask = distance_transform_edt(~mask) <= radius
                regions.append(mask.reshape(-1))
        return np.stack(regions)

    def _greedy(self, attr: np.ndarray, regions: np.ndarray) -> tuple[np.ndarray, int]:
        """Per-pixel gain densities ``[P]`` of greedily added ``regions`` ``[M, P]``."""
        n_pixels = attr.shape[0]
        least = self.params["min_pixel_diff"]
        if least is None:
            least = max(1, round(50 * n_pixels / REFERENCE_SIDE**2))
        saliency = np.full(n_pixels, -np.inf)
        covered = np.zeros(n_pixels, dtype=bool)
        # what each region would add: its not-yet-covered pixels and their attribution
        counts = regions.sum(1)  # [M]
        sums = regions @ attr  # [M]
        alive = np.ones(regions.shape[0], dtype=bool)
        n_added = 0
        while covered.mean() <= self.params["area_threshold"]:
            alive &= counts >= least  # too little new area: dropped for good
            if not alive.any():
                break
            gains = np.full(regions.shape[0], -np.inf)
            gains[alive] = sums[alive] / counts[alive]  # mean attribution of the new pixels
            best = int(np.argmax(gains))  # the first of equal gains, as the reference
            added = regions[best] & ~covered  # [P]
            saliency[added] = gains[best]
            covered |= added
            alive[best] = False
            overlap = regions[:, added]  # [M, |added|]: update the other regions' gains
            counts -= overlap.sum(1)
            sums -= overlap @ attr[added]
            n_added += 1
        rest = saliency == -np.inf
        if rest.any():
            saliency[rest] = attr[rest].mean()
        return saliency, n_added
