"""Stage configs are dataclasses; this module turns them into CLI flags and reads them from YAML.

Each field's ``help`` metadata is its ``--help`` text, so a flag is never described twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError


def opt(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:
    """A config field with its help text; list/dict defaults are copied per instance.

    Extra metadata: ``positional=True`` (a positional argument), ``flag="--x"`` (override the flag
    name), ``choices=[...]`` and ``min=`` / ``max=`` (inclusive bounds). Choices and bounds apply to
    a scalar, to each item of a list and to each value of a dict, and they are enforced the same way
    for flags, ``--config`` YAML and configs built in Python (``from_dict``, ``validate``).
    ``output=False``: the field says where or how fast the work is done, not what it makes, so it is
    left out of ``fingerprint`` (a resume may change it); ``output="<scope>"``: it defines the output
    only in that scope (``fingerprint(cfg, "<scope>")``, e.g. one instruction source).
    """
    meta = {"help": help, **meta}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _flag(f: dataclasses.Field) -> str:
    """How the command line spells field ``f``: its flag, or its metavar when positional."""
    if f.metadata.get("positional"):
        return f.name.upper()
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


def _key(name: str) -> str:
    """``config key 'name'``; a name with a quote, newline or other odd character is shown escaped."""
    name = str(name)
    return f"config key '{name}'" if name.isprintable() and "'" not in name else f"config key {name!r}"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) and not value.strip() else str(value)


def field_problem(f: dataclasses.Field, value: Any) -> str | None:
    """What breaks field ``f``'s ``choices`` / ``min`` / ``max`` metadata in ``value``, or None."""
    if value is None:  # a null the type allows (Optional); the type check refused the others
        return None
    choices, lo, hi = f.metadata.get("choices"), f.metadata.get("min"), f.metadata.get("max")
    if choices is None and lo is None and hi is None:
        return None
    items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
    for v in items:
        if choices is not None and v not in choices:
            return f"{v!r} is not one of {', '.join(_shown(c) for c in choices)}"
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            if lo is not None and hi is not None:
                return f"must be between {lo} and {hi} (got {v})"
            return f"must be at least {lo} (got {v})" if lo is not None else f"must be at most {hi} (got {v})"
    return None


def check_fields(cfg: Any, keys: dict[str, str] | None = None, prefix: str = "") -> None:
    """Check every field of config ``cfg`` (and of nested configs) against its metadata.

    An error names the flag, or ``config key '<prefix><name>'`` when ``prefix`` is given, or the
    config key that ``keys`` maps the field to (a run section that feeds a stage config).
    """
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_fields(value, prefix=f"{prefix}{f.name}.")
            continue
        problem = field_problem(f, value)
        if problem:
            where = (_key(keys[f.name]) if keys and f.name in keys
                     else _key(f"{prefix}{f.name}") if prefix else _flag(f))
            raise UserError(f"{where}: {problem}")


def validate(cfg: Any, keys: dict[str, str] | None = None) -> Any:
    """The one up-front check of a config: every field's metadata, then the class's own
    ``validate()`` hook (cross-field and file checks), if it has one. Returns ``cfg``."""
    check_fields(cfg, keys)
    hook = getattr(cfg, "validate", None)
    if callable(hook):
        hook()
    return cfg


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def parse_text(tp: Any, text: str, key: str) -> Any:
    """Parse one CLI string into ``tp``: lists are comma-separated, dicts are ``k=v,k=v``."""
    tp, optional = _unwrap_optional(tp)
    if optional and text.lower() in ("none", "null", ""):
        return None
    origin = typing.get_origin(tp)
    try:
        if origin is list:
            (item,) = typing.get_args(tp) or (str,)
            return [parse_text(item, part.strip(), key) for part in text.split(",") if part.strip()]
        if origin is dict:
            _, val_tp = typing.get_args(tp) or (str, str)
            out = {}
            for part in filter(None, (p.strip() for p in text.split(","))):
                if "=" not in part:
                    raise ValueError(f"expected key=value, got {part!r}")
                k, v = part.split("=", 1)
                out[k.strip()] = parse_text(val_tp, v.strip(), key)
            return out
        if tp is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected true/false, got {text!r}")
        if tp in (int, float, str):
            return tp(text)
    except ValueError as e:
        flag = f"--{key.replace('_', '-')}"
        raise UserError(f"{flag if flag.isprintable() else repr(flag)}: {e}") from None
    return text


def coerce(tp: Any, value: Any, key: str) -> Any:
    """Check and convert a YAML/JSON value to ``tp``; the error names the key."""
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise UserError(f"{_key(key)}: null is not allowed here")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UserError(f"{_key(key)}: expected a mapping, got {type(value).__name__}")
        return from_dict(tp, value, prefix=f"{key}.")
    if isinstance(value, str) and tp is not str and typing.get_origin(tp) is not typing.Literal:
        return parse_text(tp, value, key)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            raise UserError(f"{_key(key)}: expected a list, got {type(value).__name__}")
        return [coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, val_tp = typing.get_args(tp) or (Any, Any)
        if not isinstance(value, dict):
            raise UserError(f"{_key(key)}: expected a mapping, got {type(value).__name__}")
        return {str(k): coerce(val_tp, v, f"{key}.{k}") for k, v in value.items()}
    if tp in (int, float) and isinstance(value, bool):  # YAML true is an int to Python, not to a user
        raise UserError(f"{_key(key)}: expected {tp.__name__}, got {value!r}")
    if tp is float and isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise UserError(f"{_key(key)}: expected a finite number, got {value!r}")
        return float(value)
    if tp is Any or (isinstance(tp, type) and isinstance(value, tp)):
        return value
    raise UserError(f"{_key(key)}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def from_dict(cls: type, data: dict[str, Any], prefix: str = "", flags: frozenset[str] | set[str] = frozenset(),
              cli: bool = False) -> Any:
    """Build config ``cls`` from a mapping; an unknown key is an error that lists the known ones.

    Each value is checked against its field's type, choices and bounds; the error names the flag
    for the keys in ``flags`` (given on the command line) and the config key for the others. A
    required field that is missing is named as a flag when ``cli`` (flags merged with ``--config``).
    """
    if not isinstance(data, dict):
        raise UserError(f"{_key(prefix.rstrip('.') or '.')}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    kwargs = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise UserError(f"unknown {_key(f'{prefix}{raw_key}')} (known: {known})")
        kwargs[key] = coerce(hints[key], value, f"{prefix}{key}")
        problem = field_problem(fields[key], kwargs[key])
        if problem:
            where = _flag(fields[key]) if key in flags else _key(f"{prefix}{key}")
            raise UserError(f"{where}: {problem}")
    missing = [
        n for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        if cli:
            raise UserError(f"{', '.join(_flag(fields[m]) for m in missing)} required "
                            "(as flags or keys of --config)")
        raise UserError(f"missing required config key(s): {', '.join(prefix + m for m in missing)}")
    return cls(**kwargs)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error naming the file."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: config file not found")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise UserError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        raise UserError(f"{p}: not valid YAML ({(str(e).splitlines() or [type(e).__name__])[0]})") from None
    except RecursionError:
        raise UserError(f"{p}: not valid YAML (nested too deeply)") from None
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a mapping at the top level")
    return data


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add one flag per field of config ``cls``, with the field's help text and default."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp, _ = _unwrap_optional(hints[f.name])
        meta = dict(f.metadata)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else (f.default if f.default is not dataclasses.MISSING else f.default_factory())
        help_text = meta.get("help", "")
        if not required and default not in (None, "", [], {}, False):
            shown = ",".join(map(str, default)) if isinstance(default, list) else default
            if isinstance(default, dict):
                shown = ",".join(f"{k}={v}" for k, v in default.items())
            help_text += f" (default: {shown})"
        if required and not meta.get("positional"):
            help_text += " (required: a flag or a --config key)"
        kw: dict[str, Any] = {"help": help_text.replace("%", "%%"),  # argparse formats help with %
                              "dest": f.name, "default": argparse.SUPPRESS}
        if meta.get("choices") and typing.get_origin(tp) is not list and not _unwrap_optional(hints[f.name])[1]:
            kw["choices"] = meta["choices"]  # lists and optionals are checked by from_dict (item-wise, None)
        if meta.get("positional"):
            kw.pop("dest")
            kw["metavar"] = f.name.upper()
            item_tp = hints[f.name]
            if typing.get_origin(tp) is list:  # a list positional takes several words: REPORT_DIR...
                kw["nargs"] = "+" if required else "*"
                (item_tp,) = typing.get_args(tp) or (str,)
            elif not required:
                kw["nargs"] = "?"
            parser.add_argument(f.name, type=lambda s, t=item_tp, n=f.name: parse_text(t, s, n),
                                **kw)
            continue
        flag = meta.get("flag", "--" + f.name.replace("_", "-"))
        if tp is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        else:
            kw["metavar"] = meta.get("metavar", f.name.upper())
            if typing.get_origin(tp) is list:  # a repeated list flag adds to it: --data A --data B
                kw["action"] = "extend"
            # a required flag may come from --config instead: from_dict checks it after the merge
            parser.add_argument(flag, type=lambda s, t=hints[f.name], n=f.name: parse_text(t, s, n), **kw)


def from_namespace(cls: type, ns: argparse.Namespace, base: dict[str, Any] | None = None) -> Any:
    """Merge a YAML mapping ``base`` with the flags actually given (flags win)."""
    data = dict(base or {})
    flags = {f.name for f in dataclasses.fields(cls) if hasattr(ns, f.name)}
    for name in flags:
        data[name] = getattr(ns, name)
    return from_dict(cls, data, flags=flags, cli=True)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config as plain JSON-ready data (for run.json and provenance)."""
    return dataclasses.asdict(cfg)


def fingerprint(cfg: Any, scope: str = "") -> dict[str, Any]:
    """The settings that define a stage's output (every field not marked ``output=False``, and those
    marked for ``scope``), as plain data: a folder written with other ones is not resumed."""
    keep = {f.name for f in dataclasses.fields(cfg) if f.metadata.get("output", True) in (True, scope)}
    return {k: v for k, v in to_dict(cfg).items() if k in keep}
