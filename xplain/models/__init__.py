"""Model wrappers: Hugging Face classifiers and plain torch modules."""

from xplain.models.huggingface import HuggingFaceClassifier
from xplain.models.torch import TorchClassifier

__all__ = ["HuggingFaceClassifier", "TorchClassifier"]
