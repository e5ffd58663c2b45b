"""Settings described once: each dataclass field carries its default and its
help text, and the command line and config files are made from the fields.

    @dataclass
    class FitConfig:
        epochs: int = option(3, "training epochs (at most: early stopping may end sooner)")
        patience: int = option(2, "early stopping patience in epochs", flag=False)

    parser = argparse.ArgumentParser()
    add_options(parser, FitConfig)           # --epochs N ... (default: 3); patience: config files only
    args = parse_with_config(parser, argv, FitConfig)   # --config FILE.toml, then the flags
    cfg = from_args(FitConfig, args)

A field is a flag unless ``flag=False``: those few settings a run changes
often. Every field, flag or not, can be set in a TOML config file given with
``--config`` (one ``name = value`` per field, as in ``configs/lesson.toml``);
a flag on the command line wins over the file. Variants of a run live in such
files, not in more flags.

Validation errors are ``ConfigError``s that name the field, so the command
line can name the option (``--epochs``) and Python callers the field.

No TensorFlow here: train.py reads it before the heavy imports.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import tomllib
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A setting out of range. ``field`` is the dataclass field, ``problem``
    what is wrong with it ("must be at least 1"), ``value`` what it was."""

    def __init__(self, field: str, problem: str, value: Any, message: str | None = None):
        self.field, self.problem, self.value = field, problem, value
        super().__init__(message or f"`{field}` {problem}. Received: {field}={value!r}")

    def for_option(self, flag: bool = True) -> str:
        """The same error in command-line terms: ``--epochs must be at least 1
        (got 0)``; for a setting that is no flag, ``head_dropout (set in
        --config) must be in [0, 1) (got 1.5)``."""
        where = option_name(self.field) if flag else f"{self.field} (set in --config)"
        return f"{where} {self.problem} (got {self.value})"


def in_option_terms(message: str) -> str:
    """A library message that names settings as ```batch_size``` in
    command-line terms: ``--batch-size``."""
    return re.sub(r"`([a-z][a-z0-9_]*)`", lambda m: option_name(m.group(1)), message)


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    default_factory: Any = dataclasses.MISSING,
    default_text: str | None = None,
    flag: bool = True,
) -> Any:
    """A dataclass field with its help text (``metadata["help"]``), whether it
    is a command-line flag (else: config files only) and, where the default
    value says little (None), ``default_text`` for --help."""
    metadata = {"help": help, "flag": flag}
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
    raise TypeError(f"field {f.name!r} has no default: every setting needs one")


def _fields(configs: tuple[type, ...], skip: tuple[str, ...] = ()):
    """(config, field) for each setting, once per name (``seed`` is in several,
    with the same default), in order."""
    seen: dict[str, Any] = {}
    for config in configs:
        for f in dataclasses.fields(config):
            if f.name in skip:
                continue
            default = field_default(f)
            if f.name in seen:
                if seen[f.name] != default:
                    raise TypeError(f"{f.name!r} has two defaults: {seen[f.name]!r} and {default!r}")
                continue
            seen[f.name] = default
            if not f.metadata.get("help"):
                raise TypeError(f"{config.__name__}.{f.name} has no help text (metadata['help'])")
            yield config, f


def add_options(
    parser: argparse.ArgumentParser,
    *configs: type,
    skip: tuple[str, ...] = (),
    overrides: dict[str, dict] | None = None,
) -> None:
    """Adds one option per flag field of the ``configs`` dataclasses, in a
    group per dataclass (titled by its docstring's first line), except the
    fields in ``skip``; ``--config FILE``; and, in the epilog, the settings
    only a config file sets, with their defaults.

    The field's type gives the option's: ``int``, ``float``, ``str`` (or
    ``X | None``) one value, ``list[X]`` one or more, ``bool`` a
    ``--name``/``--no-name`` pair. ``overrides[name]`` may replace the
    ``default``, ``help`` or ``default_text`` and add argparse keywords
    (``choices``). Every option's help ends with its default.
    """
    overrides = overrides or {}
    groups: dict[type, argparse._ArgumentGroup] = {}
    file_only = []
    for config, f in _fields(configs, skip):
        extra = dict(overrides.get(f.name, {}))
        default = extra.pop("default", field_default(f))
        help_text = extra.pop("help", f.metadata["help"])
        shown = extra.pop("default_text", f.metadata.get("default_text")) or describe_default(default)
        if not f.metadata.get("flag", True):
            file_only.append(f"  {f.name} = ... : {help_text} (default: {shown})")
            parser.set_defaults(**{f.name: default})  # in the parsed settings too, unless a file sets it
            continue
        if config not in groups:
            title = (config.__doc__ or config.__name__).strip().splitlines()[0].rstrip(".")
            groups[config] = parser.add_argument_group(title)
        kwargs = {"dest": f.name, "default": default, **_kind(typing.get_type_hints(config)[f.name]), **extra}
        action = groups[config].add_argument(option_name(f.name), **kwargs)
        # Set afterwards: some argparse versions add their own "(default: ...)" to a bool's help.
        action.help = f"{help_text} (default: {shown})".replace("%", "%%")
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help="settings from a TOML file, one `name = value` per setting (any of the options above, by its "
        "field name, and those below); a flag given on the command line wins",
    )
    if file_only:
        parser.epilog = (parser.epilog or "") + "\nset in a --config file only:\n" + "\n".join(file_only)


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


def read_config_file(path: str | os.PathLike, *configs: type) -> dict[str, Any]:
    """The settings in a TOML file, each checked against its field's type.

    Raises:
        ConfigError: an unreadable file, an unknown name or a value of the wrong type.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except OSError as err:
        raise ConfigError("config", f"cannot be read ({err.strerror})", path) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"is not TOML ({err})", path) from err
    fields = {f.name: typing.get_type_hints(c)[f.name] for c, f in _fields(configs)}
    for name, value in values.items():
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError("config", f"sets {name!r}, which is no setting (the settings: {known})", path)
        if not _fits(fields[name], value):
            raise ConfigError("config", f"gives {name} {value!r}, but it takes {_type_name(fields[name])}", path)
    return values


def _fits(tp: Any, value: Any) -> bool:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_fits(t, value) for t in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if typing.get_origin(tp) is list:
        return isinstance(value, list) and all(_fits(typing.get_args(tp)[0], v) for v in value)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


_TYPE_NAMES = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}


def _type_name(tp: Any) -> str:
    """How a field's type reads in an error: "a whole number", "a list of strings", "a string or nothing"."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(t) for t in typing.get_args(tp) if t is not type(None)) + " or nothing"
    if typing.get_origin(tp) is list:
        return "a list of " + _type_name(typing.get_args(tp)[0]).split(" ", 1)[1] + "s"
    return _TYPE_NAMES.get(tp, str(tp))


def flag_fields(*configs: type) -> set[str]:
    """The fields of ``configs`` that are command-line flags (the others: config files only)."""
    return {f.name for c in configs for f in dataclasses.fields(c) if f.metadata.get("flag", True)}


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str] | None, *configs: type) -> argparse.Namespace:
    """``parser.parse_args(argv)`` on top of the settings of ``--config``,
    where given: the file's values replace the defaults, the flags replace
    the file's values. An error in the file is the parser's error."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config")
    path = early.parse_known_args(argv)[0].config
    if path:
        try:
            parser.set_defaults(**read_config_file(path, *configs))
        except ConfigError as err:
            parser.error(f"--config {path} {err.problem}")
    return parser.parse_args(argv)


def from_args(config: type, args: argparse.Namespace, **values: Any):
    """The ``config`` dataclass made of the parsed options (and ``values``)."""
    names = {f.name for f in dataclasses.fields(config)} - set(values)
    return config(**{name: getattr(args, name) for name in names if hasattr(args, name)}, **values)
