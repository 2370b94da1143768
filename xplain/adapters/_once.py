"""Caches an adapter builds on first use and then shares between calls and threads.

An adapter's one-time setup (a tabular model's preprocessing check, the background's
scores...) is built lazily: many explainers never need it. Concurrent calls on one
explainer must neither build it twice nor see it half built, and whichever call happens
to build it must not be charged for it, or its ``n_model_evals`` would depend on what
ran before it. So each cache is built under the adapter's lock, and its model rows are
counted in the model's running total only (:func:`xplain.models.base.uncounted`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any, Generic, TypeVar

from xplain.models.base import uncounted

T = TypeVar("T")

_GUARD = threading.Lock()
# adapter -> its lock; kept off the adapter so that copy.deepcopy(explainer) still works
_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()


def lock_of(owner: Any) -> threading.RLock:
    """The re-entrant lock guarding ``owner``'s caches (one per object)."""
    with _GUARD:
        lock = _LOCKS.get(owner)
        if lock is None:
            lock = _LOCKS[owner] = threading.RLock()
        return lock


def built_once(
    owner: Any, cache: MutableMapping[Hashable, Any], key: Hashable, build: Callable[[], T]
) -> T:
    """``cache[key]``, set to ``build()`` the first time it is asked for, by one thread."""
    if key not in cache:
        with lock_of(owner):
            if key not in cache:  # another thread may have built it while we waited
                with uncounted():
                    cache[key] = build()
    return cache[key]


class shared_property(Generic[T]):  # noqa: N801 - used as a decorator, like cached_property
    """``functools.cached_property`` built by :func:`built_once` (one thread, uncounted).

    Like ``cached_property`` it stores the value in the instance's ``__dict__``, which
    then answers directly (and may be set there to override it).
    """

    def __init__(self, build: Callable[[Any], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return built_once(instance, instance.__dict__, self.name, lambda: self.build(instance))
