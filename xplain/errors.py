"""The exceptions xplain raises for user mistakes.

Every error names what was wrong, the value received and what is allowed. Each subclass
also derives from the builtin exception a Python user would expect (``ValueError``,
``TypeError``, ...), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class XplainError(Exception):
    """Base class of every error xplain raises on purpose."""


class InvalidParameterError(XplainError, ValueError):
    """A method, adapter or explainer parameter has a value that is not allowed."""


class InvalidInputError(XplainError, ValueError):
    """The instance to explain is malformed (empty text, NaN in a row, wrong image shape...)."""


class InvalidTargetError(XplainError, ValueError):
    """The requested target class does not exist in the model."""


class UnknownMethodError(XplainError, ValueError):
    """No explanation method is registered under the requested name."""


class MethodNotApplicableError(XplainError, TypeError):
    """The method needs something the model or modality cannot offer (e.g. gradients)."""


class ModelOutputError(XplainError, ValueError):
    """The model returned something xplain cannot interpret as class scores."""


class ResourceLimitError(XplainError, ValueError):
    """A call would evaluate more model rows or hold more memory than ``xplain.limits`` allow."""


class UntrustedCodeError(XplainError, PermissionError):
    """Loading the model would run code from its files, and the user did not allow it."""


class MethodCheckError(XplainError, AssertionError):
    """A method class fails a conformance check of ``xplain.testing.check_method``."""


class MissingDependencyError(XplainError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install`` line."""


class DatasetOutputError(XplainError, ValueError):
    """An ``explain_dataset`` output directory cannot be used (a file, not writable,
    another run's output) or read (no manifest)."""


class RowError(XplainError, RuntimeError):
    """Explaining a row of a dataset failed; the message names the row and the cause."""


class PartitionsFailedError(XplainError, RuntimeError):
    """Some partitions of an ``explain_dataset`` run failed; the others are written.

    ``failed`` maps each failed partition's index to its error; ``dataset`` is the
    partial output (an ``ExplanationDataset``), or None once pickled.

    Args:
        message: The error message.
        failed: Failed partition index -> its error, as text.
        dataset: The partial output (an ``ExplanationDataset``), or None.
    """

    def __init__(self, message: str, failed: dict[int, str], dataset: object = None) -> None:
        super().__init__(message)
        self.failed = failed
        self.dataset = dataset

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.failed, None))


class XplainWarning(UserWarning):
    """Base class of the warnings xplain issues (results to read with care)."""


class UndefinedMeasureWarning(XplainWarning):
    """A measure is undefined for these explanations (e.g. all zero) and was set to NaN."""
