"""How an explanation's features are drawn: display metadata that the adapter gives.

Reports never ask which modality an explanation comes from; they read its
:class:`FeatureDisplay`. The built-in kinds are:

* ``"tokens"``: a strip of tokens coloured by value. ``options`` may say how the
  tokenizer marks sub-words: ``continuation`` (a prefix gluing a token to the previous
  one, e.g. ``"##"``) and ``word_start`` (prefixes that stand for a space, e.g. ``"Ġ"``);
* ``"grid"``: ``values.reshape(shape)`` is a heat map (row-major), drawn over the
  instance when it is an ``[*shape, channels]`` array;
* ``"bars"``: one bar per feature, sorted by |value| (at most ``max_display`` rows, the
  last summing the others), ``shown[i]`` (the instance's value of feature ``i``, or
  None) beside it.

Any other string (a plugin adapter's own kind, e.g. ``"series"``) is drawn by the renderer
registered for it with :func:`xplain.report.register_display`, or else as bars. Plain
data: it round-trips through :meth:`FeatureDisplay.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xplain.errors import InvalidInputError


@dataclass(frozen=True)
class FeatureDisplay:
    """What a report needs to draw the features of one explanation.

    ``kind`` names the drawing (see the module docstring); ``shape`` is the grid a
    ``"grid"`` display reshapes the values to; ``shown`` holds one value per feature to
    show beside it (JSON values); ``options`` holds what else the kind needs (JSON values).
    """

    kind: str = "bars"
    shape: tuple[int, ...] | None = None
    shown: tuple[Any, ...] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise InvalidInputError(
                f"FeatureDisplay.kind must be a non-empty string such as 'bars', 'tokens' or "
                f"'grid'. Got {self.kind!r}."
            )
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if self.shown is not None:
            object.__setattr__(self, "shown", tuple(self.shown))
        object.__setattr__(self, "options", dict(self.options))

    def to_dict(self) -> dict[str, Any]:
        """The display as JSON values (see :meth:`from_dict`)."""
        return {
            "kind": self.kind,
            "shape": None if self.shape is None else list(self.shape),
            "shown": None if self.shown is None else list(self.shown),
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureDisplay:
        """The display :meth:`to_dict` wrote (also after a JSON round trip).

        Args:
            data: A dict with (some of) the keys kind, shape, shown and options.

        Raises:
            InvalidInputError: ``data`` is not such a dict.
        """
        if not isinstance(data, Mapping) or not set(data) <= {"kind", "shape", "shown",
                                                               "options"}:
            raise InvalidInputError(
                "The 'display' entry of an explanation dict must be the dict written by "
                "FeatureDisplay.to_dict (keys kind, shape, shown, options). Got "
                f"{data!r:.80}."
            )
        return cls(
            kind=data.get("kind", "bars"),
            shape=data.get("shape"),
            shown=data.get("shown"),
            options=data.get("options") or {},
        )
