"""Settings described once: each dataclass field carries its default and its
help text, and train.py makes its command-line options from the fields.

    @dataclass
    class FitConfig:
        epochs: int = option(3, "training epochs (at most: early stopping may end sooner)")

    parser = argparse.ArgumentParser()
    add_options(parser, FitConfig)          # --epochs EPOCHS ... (default: 3)
    cfg = from_args(FitConfig, parser.parse_args())

Validation errors are ``ConfigError``s that name the field, so the command
line can name the option (``--epochs``) and Python callers the field.

No TensorFlow here: train.py reads it before the heavy imports.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A setting out of range. ``field`` is the dataclass field, ``problem``
    what is wrong with it ("must be at least 1"), ``value`` what it was."""

    def __init__(self, field: str, problem: str, value: Any, message: str | None = None):
        self.field, self.problem, self.value = field, problem, value
        super().__init__(message or f"`{field}` {problem}. Received: {field}={value!r}")

    def for_option(self) -> str:
        """The same error in command-line terms: ``--epochs must be at least 1 (got 0)``."""
        return f"{option_name(self.field)} {self.problem} (got {self.value})"


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    default_factory: Any = dataclasses.MISSING,
    default_text: str | None = None,
) -> Any:
    """A dataclass field with its help text (``metadata["help"]``) and, where
    the default value says little (None), ``default_text`` for --help."""
    metadata = {"help": help}
    if default_text is not None:
        metadata["default_text"] = default_text
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def option_name(field: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + field.replace("_", "-")


def describe_default(value: Any) -> str:
    """A default as --help shows it: lists space-separated, booleans on/off."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return "none" if value is None else str(value)


def field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"field {f.name!r} has no default: every setting needs one to be an option")


def add_options(
    parser: argparse.ArgumentParser,
    *configs: type,
    skip: tuple[str, ...] = (),
    overrides: dict[str, dict] | None = None,
) -> None:
    """Adds one option per field of the ``configs`` dataclasses, in a group per
    dataclass (titled by its docstring's first line), except the fields in
    ``skip``. A field in several dataclasses (``seed``) gets one option, and
    must have the same default in each.

    The field's type gives the option's: ``int``, ``float``, ``str`` (or
    ``X | None``) one value, ``list[X]`` one or more, ``bool`` a
    ``--name``/``--no-name`` pair. ``overrides[name]`` may replace the
    ``default``, ``help`` or ``default_text`` and add argparse keywords
    (``choices``). Every option's help ends with its default.
    """
    overrides = overrides or {}
    seen: dict[str, Any] = {}
    for config in configs:
        hints = typing.get_type_hints(config)
        title = (config.__doc__ or config.__name__).strip().splitlines()[0]
        group = parser.add_argument_group(f"{config.__name__}: {title.rstrip('.')}")
        for f in dataclasses.fields(config):
            if f.name in skip:
                continue
            default = field_default(f)
            if f.name in seen:
                if seen[f.name] != default:
                    raise TypeError(f"{f.name!r} has two defaults: {seen[f.name]!r} and {default!r}")
                continue
            seen[f.name] = default
            extra = dict(overrides.get(f.name, {}))
            default = extra.pop("default", default)
            help_text = extra.pop("help", f.metadata.get("help"))
            if not help_text:
                raise TypeError(f"{config.__name__}.{f.name} has no help text (metadata['help'])")
            shown = extra.pop("default_text", f.metadata.get("default_text")) or describe_default(default)
            kwargs = {"dest": f.name, "default": default, **_kind(hints[f.name]), **extra}
            action = group.add_argument(option_name(f.name), **kwargs)
            # Set afterwards: some argparse versions add their own "(default: ...)" to a bool's help.
            action.help = f"{help_text} (default: {shown})".replace("%", "%%")


def _kind(tp: Any) -> dict:
    """argparse keywords for a field of type ``tp``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        (tp,) = [t for t in typing.get_args(tp) if t is not type(None)]
    if tp is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(tp) is list:
        return {"nargs": "+", "type": typing.get_args(tp)[0]}
    if tp in (int, float):
        return {"type": tp, "metavar": "N" if tp is int else "X"}
    if tp is str:
        return {"type": tp}
    raise TypeError(f"no command-line option for a field of type {tp!r}")


def from_args(config: type, args: argparse.Namespace, **values: Any):
    """The ``config`` dataclass made of the parsed options (and ``values``)."""
    names = {f.name for f in dataclasses.fields(config)} - set(values)
    return config(**{name: getattr(args, name) for name in names if hasattr(args, name)}, **values)
