"""Compose the YAML files under ``configs/`` into a validated :class:`sim.params.Config`.

This is the only module of ``sim`` that touches Hydra. It

* registers in Hydra's ConfigStore a typed schema (``config_schema``) derived from the
  dataclasses in :mod:`sim.params`, so that Hydra itself rejects wrong types and unknown keys
  in the YAML files and in command-line overrides;
* composes ``configs/config.yaml`` with Hydra's compose API (:func:`load_config`), from any
  working directory and as often as needed;
* turns every Hydra or OmegaConf error into a :class:`~sim.params.ConfigError` whose one-line
  message names the key, the value and what is allowed;
* expands the overrides of a multirun into the overrides of each job (:func:`expand_sweep`),
  so a command-line front end can check every job before anything is written.

Ranges and cross-field rules are checked by :meth:`sim.params.Config.from_dict`, the single
source of truth for what a config may say.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import types
import typing
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import (
    HydraException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import (
    ConfigAttributeError,
    ConfigKeyError,
    OmegaConfBaseException,
    ValidationError,
)

from sim.params import (
    Config,
    ConfigError,
    ExperimentParams,
    ModelParams,
    PolicyParams,
    RunParams,
    _allowed,
)

__all__ = [
    "CONFIG_DIR",
    "available_options",
    "compose_config",
    "config_to_yaml",
    "expand_sweep",
    "load_config",
    "load_configs",
    "to_config",
]

#: The ``configs/`` folder of the repository.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
#: Name of the primary config file (without ``.yaml``).
CONFIG_NAME = "config"
#: Name under which the typed schema of the whole config is stored in the ConfigStore.
SCHEMA_NAME = "config_schema"
#: The config sections and the dataclasses that type them.
SECTIONS: dict[str, type] = {
    "model": ModelParams,
    "policy": PolicyParams,
    "run": RunParams,
    "experiment": ExperimentParams,
}


# --------------------------------------------------------------------------- schemas


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Split ``X | None`` into ``(X, True)``; any other annotation into ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def mutable_schema(cls: type) -> type:
    """A mutable dataclass with the same fields, types and defaults as a frozen params class.

    OmegaConf makes frozen dataclasses read-only, which Hydra cannot merge YAML into, so the
    schema registered with Hydra is this twin. Nested params classes get twins of their own.

    Args:
        cls: A dataclass from :mod:`sim.params`.

    Returns:
        A new, non-frozen dataclass named like ``cls``.
    """
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        annotation, nullable = _unwrap(hints[f.name])
        if dataclasses.is_dataclass(annotation):
            twin = mutable_schema(annotation)
            specs.append((f.name, twin, dataclasses.field(default_factory=twin)))
            continue
        if nullable:
            annotation = Optional[annotation]  # noqa: UP045 (OmegaConf wants typing.Optional)
        if f.default_factory is not dataclasses.MISSING:
            default = dataclasses.field(default_factory=f.default_factory)
        else:
            default = dataclasses.field(default=f.default)
        specs.append((f.name, annotation, default))
    return dataclasses.make_dataclass(cls.__name__, specs, module=__name__)


def register_schemas() -> None:
    """Store the typed schema of the whole config as ``config_schema`` in the ConfigStore.

    ``configs/config.yaml`` lists ``config_schema`` first in its defaults, so every group
    option is merged onto typed, closed nodes.
    """
    ConfigStore.instance().store(name=SCHEMA_NAME, node=mutable_schema(Config))


register_schemas()


# --------------------------------------------------------------------------- Hydra sessions


@contextmanager
def _hydra(config_dir: str | Path | None) -> Iterator[None]:
    """Initialise Hydra on ``config_dir`` for the duration of the block.

    Works when called repeatedly and from inside a running Hydra application: a Hydra
    instance that is already initialised is set aside and put back afterwards.
    """
    folder = Path(config_dir or CONFIG_DIR).resolve()
    if not (folder / f"{CONFIG_NAME}.yaml").is_file():
        raise ConfigError(f"config_dir = '{folder}': no {CONFIG_NAME}.yaml in this folder")
    global_hydra = GlobalHydra.instance()
    previous = global_hydra.hydra
    if previous is not None:
        global_hydra.clear()
    try:
        with initialize_config_dir(config_dir=str(folder), version_base="1.3", job_name="sim"):
            yield
    finally:
        if previous is not None:
            GlobalHydra.instance().hydra = previous


def available_options(group: str, config_dir: str | Path | None = None) -> list[str]:
    """The options of a config group: the YAML files in ``configs/<group>/``.

    Args:
        group: Group name, e.g. ``"policy"``.
        config_dir: The configs folder (default: the repository's ``configs/``).

    Returns:
        Sorted option names (file names without ``.yaml``).
    """
    folder = Path(config_dir or CONFIG_DIR) / group
    return sorted(p.stem for p in folder.glob("*.yaml"))


def _groups(config_dir: str | Path | None) -> list[str]:
    root = Path(config_dir or CONFIG_DIR)
    return sorted(p.name for p in root.iterdir() if p.is_dir())


# --------------------------------------------------------------------------- errors


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of a params class (cached: resolving them is slow)."""
    return typing.get_type_hints(cls)


def _field(key: str) -> tuple[type | None, dataclasses.Field | None]:
    """The params class holding a dotted key and the key's dataclass field (None if unknown)."""
    parts = key.split(".")
    cls: type = Config
    for depth, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return cls, None
        inner, _ = _unwrap(_hints(cls)[part])
        if depth == len(parts) - 1:
            return cls, fields[part]
        if not dataclasses.is_dataclass(inner):
            return None, None
        cls = inner
    return cls, None


def _kind(key: str) -> tuple[type | None, str]:
    """(base type, human name of the type) of a known key."""
    cls, f = _field(key)
    if cls is None or f is None:
        return None, "value"
    annotation, _ = _unwrap(_hints(cls)[f.name])
    base = typing.get_origin(annotation) or annotation
    names = {float: "number", int: "whole number", bool: "boolean", str: "string", list: "list"}
    return base, names.get(base, getattr(base, "__name__", str(base)))


def _allowed_for(key: str) -> str:
    """What a known key allows, in the words of :mod:`sim.params`."""
    cls, f = _field(key)
    if f is None:
        return "a known key"
    base, kind = _kind(key)
    if base is list:
        return "a list, e.g. [a, b]"
    if dataclasses.is_dataclass(base):
        return "a mapping of its keys"
    text = _allowed(f, kind)
    return f"{text} (true or false)" if base is bool else text


_NO_VALUE = object()


def _unknown_key(key: str, value: Any = _NO_VALUE) -> ConfigError:
    """Error for a key that the schema does not have, listing the allowed keys."""
    parent, _, leaf = key.rpartition(".")
    shown = key if value is _NO_VALUE else f"{key} = {value!r}"
    if key.split(".")[0] == "hydra":
        return ConfigError(
            f"{shown}: unknown Hydra setting; see python -m experiments.run --hydra-help"
        )
    cls, _ = _field(key)
    if cls is None:
        return ConfigError(f"{shown}: '{parent}' has no keys below it")
    names = sorted(f.name for f in dataclasses.fields(cls))
    where = f"in {parent}" if parent else "at the top level"
    return ConfigError(f"{shown}: unknown key '{leaf}'; allowed keys {where}: {', '.join(names)}")


def _bad_value(key: str, value: Any) -> ConfigError:
    return ConfigError(f"{key} = {value!r}: must be {_allowed_for(key)}")


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _find_override(overrides: Sequence[str], key: str) -> str | None:
    """The raw value given on the command line for ``key``, if any."""
    for raw in reversed(list(overrides)):
        name, sep, value = raw.lstrip("+~").partition("=")
        if sep and name.split("@")[0] == key:
            return value
    return None


def _translate(
    exc: BaseException, overrides: Sequence[str], config_dir: str | Path | None
) -> ConfigError:
    """Turn a Hydra or OmegaConf exception into a one-line ConfigError."""
    if isinstance(exc, ConfigError):
        return exc
    if isinstance(exc, OverrideParseException):
        return ConfigError(
            f"{exc.override!r}: cannot parse this override ({_first_line(exc)}); "
            "write key=value (e.g. policy.coverage=0.9) or group=option (e.g. policy=coverage)"
        )
    if isinstance(exc, MissingConfigException):
        missing = exc.missing_cfg_file or ""
        group, _, option = missing.rpartition("/")
        if group:
            options = available_options(group, config_dir) or sorted(exc.options or [])
            return ConfigError(
                f"{group} = {option!r}: unknown option; available options: {', '.join(options)}"
            )
        return ConfigError(f"{_first_line(exc)}")
    if isinstance(exc, yaml.YAMLError):
        return ConfigError(f"YAML syntax error: {_one_line(exc)}")
    cause: BaseException | None = exc
    while isinstance(cause, HydraException):
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    source = re.match(r"In '([^']+)'", str(exc))
    where = f" (in {Path(config_dir or CONFIG_DIR).name}/{source.group(1)}.yaml)" if source else ""
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        key = str(cause.full_key)
        raw = _find_override(overrides, key)
        value = _NO_VALUE if raw is None else _parse_value(raw)
        return ConfigError(f"{_unknown_key(key, value)}{where}")
    if isinstance(cause, ValidationError) and cause.full_key:
        return ConfigError(f"{_bad_value(str(cause.full_key), cause.value)}{where}")
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return ConfigError(f"{cause.full_key}: {_first_line(cause)}{where}")
    if isinstance(cause, yaml.YAMLError):
        return ConfigError(f"YAML syntax error: {_one_line(cause)}")
    text = _one_line(exc)
    sweep = re.search(r"(?:Ambiguous value for argument|Sweep parameters) '([^']+)'", text)
    if sweep:
        return ConfigError(f"{sweep.group(1)}: a sweep (several values) needs multirun (-m)")
    return ConfigError(text or type(exc).__name__)


def _parse_value(raw: str) -> Any:
    """The value of ``raw`` as Hydra's override grammar reads it (the raw text if unparsable)."""
    try:
        return OverridesParser.create().parse_override(f"k={raw}").value()
    except Exception:  # noqa: BLE001 (any parse failure: show the text as typed)
        return raw


def _check_override(override: Override, config_dir: str | Path | None) -> None:
    """Reject, before Hydra sees it, an override that Hydra would accept or coerce silently.

    OmegaConf turns ``7`` or ``"yes"`` into ``True`` for a boolean key; this check insists on
    ``true`` or ``false``. It also names unknown group options and unknown keys precisely.
    """
    if override.is_hydra_override() or override.is_delete():
        return
    key = override.key_or_group
    groups = _groups(config_dir)
    values: list[Any]
    if override.is_sweep_override():
        values = list(override.sweep_iterator()) if override.is_discrete_sweep() else []
    else:
        values = [override.value()]
    if key in groups and override.package is None:
        options = available_options(key, config_dir)
        for value in values:
            if not isinstance(value, str) or value not in options:
                raise ConfigError(
                    f"{key} = {value!r}: unknown option; available options: {', '.join(options)}"
                )
        return
    cls, f = _field(key)
    if f is None:
        raise _unknown_key(key, values[0] if len(values) == 1 else override.get_value_string())
    base, _ = _kind(key)
    for value in values:
        if base is bool and not isinstance(value, bool):
            raise _bad_value(key, value)


def _check_booleans(node: Any, prefix: str, source: Path) -> None:
    """Reject a boolean key whose YAML value is not true or false (OmegaConf would coerce it)."""
    if not isinstance(node, dict):
        return
    for name, value in node.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict):
            _check_booleans(value, key, source)
            continue
        if isinstance(value, str) and value.startswith("${"):
            continue
        base, _ = _kind(key)
        if base is bool and not isinstance(value, bool):
            raise ConfigError(f"{_bad_value(key, value)} (in {source})")


def _check_files(choices: dict[str, Any], config_dir: str | Path | None) -> None:
    """Check the booleans in the YAML files a composition used (see :func:`_check_booleans`).

    Args:
        choices: ``hydra.runtime.choices``: the option chosen in each group.
        config_dir: The configs folder.
    """
    root = Path(config_dir or CONFIG_DIR).resolve()
    todo = [("", CONFIG_NAME)] + [(g, choices[g]) for g in _groups(config_dir) if choices.get(g)]
    seen: set[Path] = set()
    while todo:
        group, option = todo.pop()
        path = root / group / f"{option}.yaml"
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        if not isinstance(data, dict):
            continue
        for entry in data.pop("defaults", None) or []:
            if isinstance(entry, str) and group and not entry.startswith("/"):
                todo.append((group, entry))
        data.pop("hydra", None)
        head = path.read_text().splitlines()[:3]
        is_global = not group or any("@package _global_" in line for line in head)
        _check_booleans(data, "" if is_global else group, path.relative_to(root.parent))


# --------------------------------------------------------------------------- public API


def compose_config(
    overrides: Sequence[str] | None = None,
    config_dir: str | Path | None = None,
    *,
    return_hydra_config: bool = False,
) -> DictConfig:
    """Compose ``config.yaml`` with Hydra and the given overrides (not yet validated).

    Args:
        overrides: Hydra overrides such as ``["policy=coverage", "seed=3"]``.
        config_dir: The configs folder (default: the repository's ``configs/``).
        return_hydra_config: Keep the ``hydra`` node (needed to read sweep settings).

    Returns:
        The composed OmegaConf config.

    Raises:
        ConfigError: On any composition error, with a one-line message.
    """
    overrides = list(overrides or [])
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        for override in parsed:
            _check_override(override, config_dir)
        with _hydra(config_dir):
            cfg = compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=True)
        _check_files(OmegaConf.to_container(cfg.hydra.runtime.choices), config_dir)
    except (HydraException, OmegaConfBaseException, ConfigError, yaml.YAMLError) as exc:
        raise _translate(exc, overrides, config_dir) from None
    if not return_hydra_config:
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def to_config(cfg: DictConfig | dict[str, Any]) -> Config:
    """Validate a composed config (e.g. the one ``@hydra.main`` passes) into a ``Config``.

    Args:
        cfg: A composed OmegaConf config or a plain nested dict; a ``hydra`` node is ignored.

    Returns:
        The frozen, range-checked config.

    Raises:
        ConfigError: If a value is of the wrong type, out of range or unknown.
    """
    data: dict[str, Any] = {}
    try:
        for key in cfg:
            if key == "hydra":  # Hydra's own settings; resolving them needs a running job
                continue
            value = cfg[key]
            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=True)
            data[str(key)] = value
    except OmegaConfBaseException as exc:
        raise _translate(exc, [], None) from None
    return Config.from_dict(data)


def load_config(overrides: list[str] | None = None, config_dir: str | Path | None = None) -> Config:
    """Compose ``configs/config.yaml`` with overrides into a validated ``Config``.

    Args:
        overrides: Hydra overrides, e.g. ``["policy=coverage", "model.people=500"]``.
        config_dir: The configs folder (default: the repository's ``configs/``).

    Returns:
        The frozen, range-checked config.

    Raises:
        ConfigError: On a wrong type, an out-of-range value, an unknown key or group option,
            or bad override syntax; the message names the key, the value and what is allowed.

    Example:
        >>> cfg = load_config(["policy=coverage", "seed=3"])
        >>> cfg.policy.coverage
        0.95
    """
    return to_config(compose_config(overrides, config_dir))


def load_configs(
    jobs: Sequence[Sequence[str]], config_dir: str | Path | None = None
) -> list[Config]:
    """Validate the configs of many jobs (e.g. of a sweep) quickly.

    Same result as ``[load_config(job) for job in jobs]``, but jobs that differ only in plain
    ``key=value`` overrides (seeds, parameter values) share one Hydra composition, onto a copy
    of which their values are merged with the same type checks Hydra applies.

    Args:
        jobs: One list of overrides per job (e.g. from :func:`expand_sweep`).
        config_dir: The configs folder (default: the repository's ``configs/``).

    Returns:
        One validated config per job, in order.

    Raises:
        ConfigError: At the first invalid job.
    """
    parser = OverridesParser.create()
    groups = set(_groups(config_dir))
    composed: dict[tuple[str, ...], DictConfig] = {}
    configs = []
    for job in jobs:
        job = list(job)
        try:
            parsed = parser.parse_overrides(job)
        except (HydraException, OmegaConfBaseException) as exc:
            raise _translate(exc, job, config_dir) from None
        plain = [
            o
            for o in parsed
            if o.key_or_group not in groups
            and not o.is_hydra_override()
            and not (o.is_add() or o.is_force_add() or o.is_delete() or o.is_sweep_override())
            and o.package is None
        ]
        base_key = tuple(o.input_line for o in parsed if o not in plain)
        if base_key not in composed:
            composed[base_key] = compose_config(list(base_key), config_dir)
        cfg = copy.deepcopy(composed[base_key])
        try:
            for override in plain:
                _check_override(override, config_dir)
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise _translate(exc, job, config_dir) from None
        configs.append(to_config(cfg))
    return configs


def expand_sweep(
    overrides: Sequence[str] | None = None, config_dir: str | Path | None = None
) -> list[list[str]]:
    """The overrides of each job of a multirun, as Hydra's basic sweeper would launch them.

    The sweep is the config's ``hydra.sweeper.params`` (e.g. from an experiment file) followed by
    the command-line overrides; a later override of the same key wins; comma lists, ``range()``
    and the like expand into the Cartesian product.

    Args:
        overrides: The command-line overrides of the multirun.
        config_dir: The configs folder (default: the repository's ``configs/``).

    Returns:
        One list of overrides per job.

    Raises:
        ConfigError: If an override cannot be parsed or the base config does not compose.
    """
    overrides = list(overrides or [])
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides(overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _translate(exc, overrides, config_dir) from None
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    for override in parsed:
        if override.is_sweep_override():
            try:
                _check_override(override, config_dir)
            except ConfigError:
                raise
            if override.is_hydra_override():
                raise ConfigError(f"{override.input_line}: Hydra's own settings cannot be swept")
    base = compose_config(fixed, config_dir, return_hydra_config=True)
    try:
        params = base.hydra.sweeper.get("params") or {}
        swept = [f"{k}={v}" for k, v in params.items()]
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        batches = BasicSweeper.split_arguments(parser.parse_overrides(swept + overrides), None)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _translate(exc, overrides, config_dir) from None
    return [job for batch in batches for job in batch]


def config_to_yaml(cfg: Config) -> str:
    """The YAML text of a validated config (e.g. to log or store next to results).

    Args:
        cfg: A validated config.

    Returns:
        YAML with one section per params class.
    """
    return OmegaConf.to_yaml(OmegaConf.create(cfg.to_dict()))
