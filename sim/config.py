"""Compose the YAML files under ``configs/`` into a validated :class:`sim.params.Config`.

This is the only module of ``sim`` that touches Hydra. It

* registers in Hydra's ConfigStore a typed schema (``config_schema``) derived from the
  dataclasses in :mod:`sim.params`, so that Hydra itself rejects wrong types and unknown keys
  in the YAML files and in command-line overrides (booleans are left as written and checked
  strictly by :mod:`sim.params`, see :func:`mutable_schema`);
* composes ``configs/config.yaml`` with Hydra's compose API (:func:`load_config`), from any
  working directory and as often as needed;
* turns every Hydra or OmegaConf error into a :class:`~sim.params.ConfigError` whose one-line
  message names the key, the value and what is allowed;
* expands the overrides of a multirun into the overrides of each job (:func:`expand_sweep`),
  so a command-line front end can check every job before anything is written.
* holds the only two calls into Hydra's private API (:func:`hydra_arguments`,
  :func:`split_sweep`), checked on the hydra-core versions in :data:`HYDRA_CHECKED`.

Ranges and cross-field rules are checked by :meth:`sim.params.Config.from_dict`, the single
source of truth for what a config may say.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import yaml
from hydra import __version__ as hydra_version
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
from omegaconf import DictConfig, OmegaConf
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
    field_types,
)

__all__ = [
    "CONFIG_DIR",
    "available_options",
    "compose_config",
    "composition_cache",
    "config_to_yaml",
    "expand_sweep",
    "hydra_arguments",
    "load_config",
    "load_configs",
    "split_sweep",
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


def mutable_schema(cls: type) -> type:
    """A mutable dataclass with the same fields, types and defaults as a frozen params class.

    OmegaConf makes frozen dataclasses read-only, which Hydra cannot merge YAML into, so the
    schema registered with Hydra is this twin. Nested params classes get twins of their own.

    Boolean fields are typed ``Any`` in the twin: OmegaConf's boolean nodes would turn ``1``,
    ``"yes"`` or ``"on"`` into True, whereas an untyped node keeps the value as written, so
    that :class:`sim.params.Params` rejects anything but true or false (in YAML files and
    overrides alike). Unknown keys are still rejected: the twin is closed.

    Args:
        cls: A dataclass from :mod:`sim.params`.

    Returns:
        A new, non-frozen dataclass named like ``cls``.
    """
    specs = []
    for f in dataclasses.fields(cls):
        annotation, base, nullable = field_types(cls)[f.name]
        if dataclasses.is_dataclass(base):
            twin = mutable_schema(base)
            specs.append((f.name, twin, dataclasses.field(default_factory=twin)))
            continue
        if base is bool:
            annotation = Any
        elif nullable:
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


# --------------------------------------------------------------------------- factorial cells

#: The letters of the four dimensions in a ``policy=four_dimensions`` scenario name, in order:
#: subject, foundation, integration (fusion), openness.
DIMENSIONS = "SFIO"
#: The name of the package ``configs/policy/four_dimensions.yaml``: all four dimensions on.
ALL_FOUR = "four_dimensions"


def dimension_lever(letter: str, on: Any, off: Any, *, _parent_: DictConfig) -> Any:
    """The value of a lever in a cell of the four-dimension factorial (resolver ``dimension``).

    The policy's name is the cell: four characters, the dimension's letter when its package is
    on, ``-`` when it is off (``SF--``); the package's own name, ``four_dimensions``, is all four
    on. ``configs/policy/four_dimensions.yaml`` writes each lever as ``${dimension:S,0.0,0.1}``.

    Args:
        letter: The lever's dimension, one of :data:`DIMENSIONS`.
        on: The lever's value in the dimension's package.
        off: Its value in the baseline.
        _parent_: The policy node (passed by OmegaConf).

    Raises:
        ConfigError: If the name is not a cell.
    """
    name = _parent_.get("name")
    if name == ALL_FOUR:  # the package's own name: every dimension on (SFIO)
        return on
    if not isinstance(name, str) or not re.fullmatch(r"[S-][F-][I-][O-]", name):
        raise ConfigError(
            f"policy.name = {name!r}: must name a cell of policy=four_dimensions, four "
            f"characters, each its dimension's letter ({', '.join(DIMENSIONS)}) or '-' "
            f"(e.g. SF--, ----, SFIO), or be {ALL_FOUR} (all four on)"
        )
    return on if letter in name else off


OmegaConf.register_new_resolver("dimension", dimension_lever, replace=True)


# --------------------------------------------------------------------------- Hydra internals
#
# The only two uses of Hydra's private ``hydra._internal`` API, so that a Hydra upgrade that
# moves them breaks here, with a clear message, and nowhere else. Both were checked, with
# identical source, on hydra-core 1.3.2, 1.3.5 and 1.3.8; pyproject.toml pins the range
# (HYDRA_CHECKED) and tests/test_config.py fails if the API moves within it.

#: The hydra-core versions the two functions below were checked on (pinned in pyproject.toml).
HYDRA_CHECKED = ">=1.3.2,<1.4"


def _hydra_internal(module: str, name: str) -> Any:
    """``name`` from ``hydra._internal.<module>``, or a RuntimeError saying what moved."""
    try:
        return getattr(importlib.import_module(f"hydra._internal.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            f"hydra._internal.{module}.{name} not found in hydra-core {hydra_version}; "
            f"sim/config.py was checked on hydra-core{HYDRA_CHECKED}: update its "
            "'Hydra internals' section and the pin in pyproject.toml"
        ) from exc


def hydra_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The command line as ``@hydra.main`` reads it (its own flags, then the overrides).

    Args:
        argv: The arguments after the program name.

    Returns:
        The known arguments: ``overrides``, ``multirun``, ``cfg``, ``help``, ``hydra_help``,
        ``config_path``, ``config_name``, ``config_dir`` and Hydra's other flags.
    """
    parser = _hydra_internal("utils", "get_args_parser")()
    return parser.parse_known_args(list(argv))[0]


def split_sweep(overrides: Sequence[Override]) -> list[list[str]]:
    """The overrides of each job of a sweep, in the order Hydra's basic sweeper launches them.

    Args:
        overrides: Parsed overrides; a later one of the same key wins, sweeps expand into the
            Cartesian product.

    Returns:
        One list of ``key=value`` overrides per job.
    """
    sweeper = _hydra_internal("core_plugins.basic_sweeper", "BasicSweeper")
    batches = sweeper.split_arguments(list(overrides), None)
    return [job for batch in batches for job in batch]


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


def _field(key: str) -> tuple[type | None, dataclasses.Field | None]:
    """The params class holding a dotted key and the key's dataclass field (None if unknown)."""
    parts = key.split(".")
    cls: type = Config
    for depth, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return cls, None
        if depth == len(parts) - 1:
            return cls, fields[part]
        inner = field_types(cls)[part].base
        if not dataclasses.is_dataclass(inner):
            return None, None
        cls = inner
    return cls, None


def _allowed_for(key: str) -> str:
    """What a known key allows, in the words of :mod:`sim.params`."""
    cls, f = _field(key)
    if cls is None or f is None:
        return "a known key"
    ft = field_types(cls)[f.name]
    if ft.base is list:
        return "a list, e.g. [a, b]"
    if dataclasses.is_dataclass(ft.base):
        return "a mapping of its keys"
    return _allowed(f, ft.kind)


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
    inner = exc.__cause__ or exc.__context__
    while inner is not None:  # a resolver's own ConfigError (e.g. a bad factorial cell)
        if isinstance(inner, ConfigError):
            return inner
        inner = inner.__cause__ or inner.__context__
    if isinstance(exc, OverrideParseException):
        return ConfigError(
            f"{exc.override!r}: cannot parse this override ({_first_line(exc)}); "
            "write key=value (e.g. policy.coverage=0.9) or group=option (e.g. policy=coverage)"
        )
    if isinstance(exc, MissingConfigException):
        missing = exc.missing_cfg_file or ""
        group, _, option = missing.rpartition("/")
        if group:
            # the files in configs/<group>/ and, for Hydra's groups, the plugins' options
            options = sorted(set(available_options(group, config_dir)) | set(exc.options or []))
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
    """Name unknown group options and unknown keys precisely, before Hydra sees the override."""
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
    _, f = _field(key)
    if f is None:
        raise _unknown_key(key, values[0] if len(values) == 1 else override.get_value_string())


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
    key = (tuple(overrides), str(config_dir), return_hydra_config)
    if _COMPOSED is not None and key in _COMPOSED:
        return copy.deepcopy(_COMPOSED[key])
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
        for override in parsed:
            _check_override(override, config_dir)
        with _hydra(config_dir):
            cfg = compose(
                config_name=CONFIG_NAME,
                overrides=overrides,
                return_hydra_config=return_hydra_config,
            )
    except (HydraException, OmegaConfBaseException, ConfigError, yaml.YAMLError) as exc:
        raise _translate(exc, overrides, config_dir) from None
    if _COMPOSED is not None:
        _COMPOSED[key] = copy.deepcopy(cfg)
    return cfg


#: Compositions kept while :func:`composition_cache` is active (None: no caching).
_COMPOSED: dict[tuple, DictConfig] | None = None


@contextmanager
def composition_cache() -> Iterator[None]:
    """Within the block, composing the same overrides twice reuses the first composition.

    For one command that plans a sweep (the config files do not change meanwhile); outside
    the block every call reads the files again.
    """
    global _COMPOSED
    outer = _COMPOSED
    _COMPOSED = {} if outer is None else outer
    try:
        yield
    finally:
        _COMPOSED = outer


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
    # Jobs of a sweep repeat the same few override strings (seed=0, policy=coverage, ...):
    # parse each once; and jobs that differ only in their seed share one validated config.
    parsed_once: dict[str, Override] = {}
    by_rest: dict[tuple[str, ...], Config] = {}
    seed_free: dict[tuple[str, ...], bool] = {}
    configs = []
    for job in jobs:
        job = list(job)
        try:
            for line in job:
                if line not in parsed_once:
                    parsed_once[line] = parser.parse_overrides([line])[0]
            parsed = [parsed_once[line] for line in job]
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
            text = OmegaConf.to_yaml(composed[base_key])
            seed_free[base_key] = "${seed}" not in text and "${.seed}" not in text
        seeds = [o for o in plain if o.key_or_group == "seed"]
        rest = base_key + tuple(o.input_line for o in plain if o.key_or_group != "seed")
        if seed_free[base_key] and len(seeds) == 1 and rest in by_rest:
            value = seeds[0].value()
            try:
                configs.append(dataclasses.replace(by_rest[rest], seed=value))
            except ConfigError:
                raise _bad_value("seed", value) from None
            continue
        cfg = copy.deepcopy(composed[base_key])
        try:
            for override in plain:
                _check_override(override, config_dir)
                OmegaConf.update(cfg, override.key_or_group, override.value(), merge=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise _translate(exc, job, config_dir) from None
        configs.append(to_config(cfg))
        by_rest.setdefault(rest, configs[-1])
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
            _check_override(override, config_dir)
            if override.is_hydra_override():
                raise ConfigError(f"{override.input_line}: Hydra's own settings cannot be swept")
    base = compose_config(fixed, config_dir, return_hydra_config=True)
    try:
        params = base.hydra.sweeper.get("params") or {}
        swept = [f"{k}={v}" for k, v in params.items()]
        return split_sweep(parser.parse_overrides(swept + overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise _translate(exc, overrides, config_dir) from None


def config_to_yaml(cfg: Config) -> str:
    """The YAML text of a validated config (e.g. to log or store next to results).

    Args:
        cfg: A validated config.

    Returns:
        YAML with one section per params class.
    """
    return OmegaConf.to_yaml(OmegaConf.create(cfg.to_dict()))
