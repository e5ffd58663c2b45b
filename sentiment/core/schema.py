"""Parsed JSON made into dataclasses, checked on the way: what every results
file of a run (metrics.json, memory.json, ...) is read through, so that a
file of the wrong shape is named at the key that is wrong, once, when it is
read, and never met later as a KeyError deep in a chart."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable
from typing import Any


def from_json(tp: Any, value: Any, where: str) -> Any:
    """``value`` (parsed JSON) checked against the type ``tp`` and made into it;
    ``ValueError`` naming the first key (as ``where.key[i]``) that is missing
    or of the wrong type. Unknown keys are ignored."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (tp,) = [a for a in args if a is not type(None)]
        return from_json(tp, value, where)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {_kind(value)}")
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = from_json(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where}.{f.name} is missing")
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {_kind(value)}")
        return [from_json(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object, got {_kind(value)}")
        return {k: from_json(args[1], v, f"{where}.{k}") for k, v in value.items()}
    # JSON has one kind of number: an int is a float too (kept as it is, so
    # figures round-trip exactly), but a float is no int, and a bool is neither.
    wanted = {float: (int, float), int: (int,), str: (str,), bool: (bool,)}[tp]
    if not isinstance(value, wanted) or (tp is not bool and isinstance(value, bool)):
        raise ValueError(f"{where}: expected {_NAMES[tp]}, got {_kind(value)}")
    return value


_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_json(
    path: str | os.PathLike, convert: Callable[[Any], Any], error: type[ValueError], missing: str, again: str
):
    """``convert`` of the JSON file at ``path``. ``error(missing)`` where there
    is no file; ``error`` naming the file, what is wrong and ``again`` (what
    makes it anew) where it is unreadable or not what ``convert`` accepts."""
    try:
        with open(path, encoding="utf-8") as f:
            return convert(json.load(f))
    except FileNotFoundError:
        raise error(missing) from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise error(
            f"{os.fspath(path)} cannot be read as it should be ({type(err).__name__}: {err}): {again}."
        ) from None
