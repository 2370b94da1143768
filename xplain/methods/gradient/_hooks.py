"""Module hooks that act only for the call that installed them.

A hook registered on a module is seen by every forward pass of that module, including
those of other threads explaining the same model at the same time (another method, or
another Explainer sharing the model). A method's hooks must change only its own forward
passes: each hook here remembers the thread that installed it and does nothing (returns
None: no change) in any other thread. Forward hooks run in the thread calling the
module, and one thread runs one call at a time, so the installing thread's forwards are
exactly the call's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

Hook = Callable[..., Any]


def this_thread_only(hook: Hook) -> Hook:
    """``hook``, acting only in the calling thread (returning None in any other)."""
    owner = threading.get_ident()

    def guarded(*args: Any) -> Any:
        if threading.get_ident() != owner:
            return None
        return hook(*args)

    return guarded


@contextmanager
def forward_hooks(
    hooks: list[tuple[torch.nn.Module, Hook | None, Hook | None]],
) -> Iterator[None]:
    """Within the block, each ``(module, pre_hook, hook)`` is installed for this thread's
    forwards only (either hook may be None); all are removed on exit, also on error."""
    handles = []
    try:
        for module, pre_hook, hook in hooks:
            if pre_hook is not None:
                handles.append(module.register_forward_pre_hook(this_thread_only(pre_hook)))
            if hook is not None:
                handles.append(module.register_forward_hook(this_thread_only(hook)))
        yield
    finally:
        for handle in handles:
            handle.remove()
