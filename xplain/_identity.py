"""Fingerprints that tie an Explanation to the model and the instance it explains.

Metrics re-run the model on an explanation's instance; an explanation of another model,
or of another instance, would be scored without complaint. ``Explanation.model_id`` and
``Explanation.instance_id`` carry these fingerprints so that metrics can refuse a mismatch.
"""

from __future__ import annotations

import hashlib
import inspect
import struct
import sys
import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

# values hashed per state tensor: all of a smaller one, else evenly strided ones. A float64
# sum of every value would cost 0.15 s per 10M parameters (a float32 one is not reproducible
# across thread counts); copies above torch's parallel grain (32,768) cost 0.5 s on MiniLM
# on a busy machine, against 20 ms below it.
SAMPLED_VALUES = 16384
_DOUBLE = struct.Struct("=d")  # a float as numpy's float64 bytes (native order)


def model_fingerprint(model: Any) -> str:
    """A short hash identifying ``model``'s class and learned state.

    * torch modules: class, then per state tensor (parameters and buffers) its name, shape,
      dtype and values: all of them up to ``SAMPLED_VALUES``, else that many evenly strided
      ones (about 20 ms for MiniLM's 22M parameters). Any training step or
      re-initialisation changes it; an edit of a few weights of a large tensor may not;
    * scikit-learn-style estimators (``get_params``): class, and every attribute (the
      parameters and the fitted state) hashed with ``joblib.hash``;
    * functions and bound methods: their code, defaults, captured values, the globals
      they read and (a method) their object's state (:func:`config_fingerprint`), the same
      in every process;
    * anything else (a callable object): its qualified name and ``id``, so the
      fingerprint is only valid within one process (and for as long as the object lives).
    """
    digest = hashlib.blake2b(digest_size=10)
    cls = type(model)
    digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
    if isinstance(model, torch.nn.Module):
        for name, tensor in model.state_dict(keep_vars=True).items():
            digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
            digest.update(_tensor_digest(tensor.detach()))
    elif hasattr(model, "get_params") and (state := _estimator_state(model)) is not None:
        digest.update(state.encode())
    elif inspect.ismethod(model) or isinstance(getattr(model, "__code__", None), types.CodeType):
        digest.update(config_fingerprint(model).encode())  # by code, state and globals used
    else:
        name = getattr(model, "__qualname__", "")
        digest.update(f"{name}@{id(model)}".encode())
    return digest.hexdigest()


def _estimator_state(model: Any) -> str | None:
    """``joblib.hash`` of an estimator's attributes: its parameters and fitted state
    (including private ones such as xgboost's and lightgbm's ``_Booster``); None when they
    cannot be pickled."""
    import joblib

    try:
        return joblib.hash(vars(model))
    except Exception:  # an unpicklable attribute (a lambda parameter...): identify by id
        return None


def _tensor_digest(tensor: torch.Tensor) -> bytes:
    flat = tensor.reshape(-1)
    step = -(-flat.numel() // SAMPLED_VALUES)  # ceil: at most SAMPLED_VALUES values
    return flat[:: max(step, 1)].to("cpu", torch.float64).numpy().tobytes()


def instance_fingerprint(instance: Any) -> str:
    """A short hash of an instance as its adapter encoded it (text, row values, pixels)."""
    digest = hashlib.blake2b(digest_size=10)
    _feed(digest, instance)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    """Hash ``value`` by content; numbers by value, so 1, 1.0 and np.float32(1) agree."""
    plain = _plain_bytes(value)  # the common plain types first, the same bytes as below
    if plain is not None:
        digest.update(plain)
        return
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, str):
        digest.update(b"s" + value.encode("utf-8", "surrogatepass") + b"\0")
    elif isinstance(value, bool | np.bool_ | int | float | np.number):
        digest.update(b"n" + np.float64(value).tobytes())
    elif isinstance(value, np.ndarray) and value.dtype != object:
        digest.update(f"a{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Mapping):
        digest.update(b"{")
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
        digest.update(b"}")
    elif isinstance(value, list | tuple | np.ndarray):
        digest.update(b"[")
        for item in value:
            _feed(digest, item)
        digest.update(b"]")
    else:  # None, pandas missing values and other objects: by their repr
        digest.update(b"r" + repr(value).encode() + b"\0")


def _plain_bytes(value: Any) -> bytes | None:
    """What :func:`_feed` hashes for a str, int or float (exactly these types), else None."""
    kind = type(value)
    if kind is str:
        return b"s" + value.encode("utf-8", "surrogatepass") + b"\0"
    if kind is float or kind is int:
        return b"n" + _DOUBLE.pack(float(value))  # = np.float64(value).tobytes()
    return None


def config_fingerprint(config: Any) -> str:
    """A short hash of a configuration (an adapter's :meth:`identity`): values by content,
    torch modules and estimators by :func:`model_fingerprint`, functions by their name,
    code and captured values (so it is the same in every process, and changes with the
    function)."""
    digest = hashlib.blake2b(digest_size=10)
    _feed(digest, _plain_config(config))
    return digest.hexdigest()


def _plain_config(value: Any, depth: int = 0) -> Any:
    """``value`` with models, functions and tables replaced by what identifies them."""
    if depth > 8:  # a function capturing itself
        return repr(value)
    deeper = depth + 1
    if isinstance(value, Mapping):
        # sorted: some mappings (a fast tokenizer's vocabulary) come in any order
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        return {k: _plain_config(v, deeper) for k, v in items}
    if isinstance(value, list | tuple):
        return [_plain_config(v, deeper) for v in value]
    pd = sys.modules.get("pandas")  # a table only where pandas is loaded (not imported here)
    if pd is not None and isinstance(value, pd.DataFrame | pd.Series):  # repr: some rows
        return ["table", value.to_numpy(), [str(c) for c in getattr(value, "columns", [])]]
    if isinstance(value, torch.nn.Module) or hasattr(value, "get_params"):
        return f"model:{model_fingerprint(value)}"
    if inspect.ismethod(value):  # a bound method: its function and its object's state
        return ["method", _plain_config(value.__func__, deeper),
                _plain_config(_state(value.__self__), deeper)]
    code = getattr(value, "__code__", None)
    if isinstance(code, types.CodeType):  # a function or lambda
        cells = [c.cell_contents for c in (getattr(value, "__closure__", None) or ())]
        scope = getattr(value, "__globals__", {})
        used = {name: scope[name] for name in sorted(_names(code)) if name in scope}
        return ["function", value.__qualname__, _code(code),
                _plain_config(getattr(value, "__defaults__", None) or (), deeper),
                _plain_config(cells, deeper), _plain_config(used, deeper)]
    if callable(value) and not isinstance(value, type) and hasattr(value, "__dict__"):
        return ["callable", type(value).__qualname__, _plain_config(vars(value), deeper)]
    return value


def _state(obj: Any) -> Any:
    return vars(obj) if hasattr(obj, "__dict__") else repr(obj)


def _code(code: types.CodeType) -> list[Any]:
    """A code object by content (its repr holds a memory address)."""
    consts = [_code(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return [code.co_code.hex(), consts, list(code.co_names)]


def _names(code: types.CodeType) -> set[str]:
    """Global names a function's code (and the code nested in it) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names
