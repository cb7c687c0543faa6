"""Stage configs are dataclasses; this module turns them into CLI flags and reads them from YAML.

Each field's ``help`` metadata is its ``--help`` text, so a flag is never described twice. A config
nests the option groups it shares with others (``group``) instead of restating their fields; a group's
fields are the config's own flags and keys, under their own names.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError


def opt(default: Any = dataclasses.MISSING, help: str | Callable[[], str] = "", *,
        factory: Callable[[], Any] | None = None, **meta: Any) -> Any:
    """A config field with its help text; list/dict defaults are copied per instance.

    Extra metadata: ``positional=True`` (a positional argument), ``flag="--x"`` (override the flag
    name), ``choices=[...]`` and ``min=`` / ``max=`` (inclusive bounds). Choices and bounds apply to
    a scalar, to each item of a list and to each value of a dict, and they are enforced the same way
    for flags, ``--config`` YAML and configs built in Python (``from_dict``, ``validate``).
    ``output=False``: the field says where or how fast the work is done, not what it makes, so it is
    left out of ``fingerprint`` (a resume may change it); ``output="<scope>"``: it defines the output
    only in that scope (``fingerprint(cfg, "<scope>")``, e.g. one instruction source).
    ``factory``: the default is what it returns, per instance (the doc types a folder lists); ``help``
    may be a function too, called when the flags are built (a list read from a folder).
    """
    meta = {"help": help, **meta}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def group(cls: type, help: str = "", fixed: tuple[str, ...] = (), why_fixed: str = "", **defaults: Any) -> Any:
    """A field holding an option group (a dataclass such as ``Sampling``) that the config nests.

    The group's fields are flags, ``--config`` keys, ``to_dict``/``fingerprint`` keys, keyword
    arguments and attributes of the config itself, under their own names (flattened, the way vLLM
    derives flags from its config classes); in code the group travels as one object. ``defaults``
    override the group class's own defaults in this config (a required field needs one).
    ``fixed``: the group's fields the holder fills itself (a run fills each stage's ``out``); a key
    naming one is refused, with ``why_fixed``. A config class with groups is decorated with ``grouped``.
    """
    return dataclasses.field(default_factory=lambda: cls(**defaults),
                             metadata={"group": cls, "help": help, "fixed": tuple(fixed), "why_fixed": why_fixed})


def _groups(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "group" in f.metadata]


def _group_attribute(holder: str, name: str) -> property:
    """``cfg.<name>`` reads and sets the field of group ``cfg.<holder>`` (a frozen group is replaced)."""
    def get(self: Any) -> Any:
        return getattr(getattr(self, holder), name)

    def put(self: Any, value: Any) -> None:
        setattr(self, holder, dataclasses.replace(getattr(self, holder), **{name: value}))

    return property(get, put, doc=f"``{holder}.{name}``")


def grouped(cls: type) -> type:
    """Let config ``cls`` take and show its groups' fields by name, as its flags and keys do:
    ``LabelConfig(temperature=0.7)`` fills ``sampling``, ``cfg.temperature`` reads it. Apply above
    ``@dataclass`` (a subclass that is a dataclass again needs it again)."""
    init = cls.__init__
    groups = [(f, {g.name for g in dataclasses.fields(f.metadata["group"])}) for f in _groups(cls)]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for f, names in groups:
            given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            if given:
                kwargs[f.name] = dataclasses.replace(kwargs.get(f.name) or f.default_factory(), **given)
        init(self, *args, **kwargs)

    __init__.__doc__, __init__.__wrapped__ = init.__doc__, init  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[method-assign]
    own = [f.name for f in dataclasses.fields(cls) if "group" not in f.metadata]
    names = own + [n for _, inner in groups for n in sorted(inner)]
    if len(names) != len(set(names)):  # one namespace: a name two groups (or a group and the config) share
        raise TypeError(f"{cls.__name__}: options declared twice: {sorted({n for n in names if names.count(n) > 1})}")
    for f, names in groups:
        for name in names:
            setattr(cls, name, _group_attribute(f.name, name))
    return cls


@dataclasses.dataclass(frozen=True)
class FlatField:
    """One flag/key of a config: its field, type hint, default (MISSING: required) and the group
    field that holds it (``""``: the config's own field)."""

    field: dataclasses.Field
    hint: Any
    default: Any
    group: str = ""
    fixed: str = ""  # why a key may not set it ("": it may)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def flat_fields(cls: type) -> dict[str, FlatField]:
    """Config ``cls``'s flags/keys by name: its own fields, and its groups' fields in their place."""
    hints = _hints(cls)
    out: dict[str, FlatField] = {}
    for f in dataclasses.fields(cls):
        if "group" in f.metadata:
            inner, base = f.metadata["group"], f.default_factory()
            inner_hints = _hints(inner)
            why = f.metadata["why_fixed"] or "set by the config that holds it"
            entries = [(g.name, FlatField(g, inner_hints[g.name], getattr(base, g.name), f.name,
                                          why if g.name in f.metadata["fixed"] else ""))
                       for g in dataclasses.fields(inner)]
        else:
            entries = [(f.name, FlatField(f, hints[f.name], _default(f)))]
        for name, entry in entries:
            if name in out:
                raise TypeError(f"{cls.__name__}: option '{name}' is declared twice (groups share one namespace)")
            out[name] = entry
    return out


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
        if "group" in f.metadata:  # a group's fields are the config's own flags and keys
            check_fields(value, keys, prefix)
            continue
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
    for hook in [getattr(getattr(cfg, f.name), "validate", None) for f in _groups(type(cfg))] + \
            [getattr(cfg, "validate", None)]:
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
    entries = flat_fields(cls)
    settable = sorted(n for n, e in entries.items() if not e.fixed)
    kwargs = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        if key not in entries:
            known = ", ".join(settable)
            raise UserError(f"unknown {_key(f'{prefix}{raw_key}')} (known: {known})")
        if entries[key].fixed:
            raise UserError(f"{_key(f'{prefix}{key}')}: {entries[key].fixed}")
        kwargs[key] = coerce(entries[key].hint, value, f"{prefix}{key}")
        problem = field_problem(entries[key].field, kwargs[key])
        if problem:
            where = _flag(entries[key].field) if key in flags else _key(f"{prefix}{key}")
            raise UserError(f"{where}: {problem}")
    missing = [n for n, e in entries.items() if n not in kwargs and e.default is dataclasses.MISSING]
    if missing:
        if cli:
            raise UserError(f"{', '.join(_flag(entries[m].field) for m in missing)} required "
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
    hints = {n: e.hint for n, e in flat_fields(cls).items()}
    for entry in flat_fields(cls).values():
        if entry.fixed:
            continue
        f = entry.field
        tp, _ = _unwrap_optional(hints[f.name])
        meta = dict(f.metadata)
        required = entry.default is dataclasses.MISSING
        default = None if required else entry.default
        help_text = meta.get("help", "")
        help_text = help_text() if callable(help_text) else help_text
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
    flags = {name for name in flat_fields(cls) if hasattr(ns, name)}
    for name in flags:
        data[name] = getattr(ns, name)
    return from_dict(cls, data, flags=flags, cli=True)


def to_dict(cfg: Any) -> dict[str, Any]:
    """A config as plain JSON-ready data (for run.json and provenance); a group's fields are keys
    of the config itself, as on the command line."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if "group" in f.metadata:  # the fields its holder fills are not keys (a key naming one is refused)
            out.update({k: v for k, v in to_dict(value).items() if k not in f.metadata["fixed"]})
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            out[f.name] = to_dict(value)
        else:
            out[f.name] = copy.deepcopy(value)
    return out


def fingerprint(cfg: Any, scope: str = "") -> dict[str, Any]:
    """The settings that define a stage's output (every field not marked ``output=False``, and those
    marked for ``scope``), as plain data: a folder written with other ones is not resumed."""
    keep = {n for n, e in flat_fields(type(cfg)).items() if e.field.metadata.get("output", True) in (True, scope)}
    return {k: v for k, v in to_dict(cfg).items() if k in keep}
