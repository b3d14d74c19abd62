"""The sidebar's settings: a policy package, levers on top of it, population and seed.

What the user sets is held as :class:`Settings` and becomes a list of Hydra overrides, the same
the command line takes (``policy=fusion policy.integration_effort=0.4 model.people=10000``);
the page builds each run through :func:`sim.load_config` from them, so the explorer accepts
exactly what a config accepts and rejects the rest with the config's one-line error.

The controls are derived from the params dataclasses (:class:`sim.params.PolicyParams` and the
model parameters named in :data:`RUN_SLIDERS`): a lever added there appears here with no change
to this file. The chosen package sets each lever's starting value (composed by
:func:`sim.load_config` itself); a lever moved away from it becomes an override, and choosing
another package starts its levers afresh.
"""

from __future__ import annotations

import dataclasses
import functools
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import solara

import sim
from sim.config import available_options
from sim.params import Config, ConfigError, ModelParams, PolicyParams, field_types

#: The package the page starts with.
DEFAULT_PACKAGE = "baseline"
#: Run settings beside the levers: config key -> (starting value, slider min, max, step). The
#: crisis call comes after one year instead of three, so mobilization shows without a long wait.
RUN_SLIDERS: dict[str, tuple[int, int, int, int]] = {
    "model.people": (10_000, 1_000, 100_000, 1_000),
    "seed": (0, 0, 99, 1),
    "model.crisis_start": (52, -1, 260, 1),
}


@dataclass(frozen=True)
class Control:
    """One user input, derived from a parameter dataclass field.

    ``kind`` is "float", "int", "bool", "choice" (a string with allowed values) or "optional"
    (a number that may be left unset, offered as a select of "unset" and values across its
    range). ``value`` is the starting value, as the config holds it (None for unset).
    """

    key: str  # dotted config key, e.g. "policy.coverage"
    kind: str
    value: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    unset: str = ""  # the choice of an optional number that leaves it unset
    number: type = float  # the type of an optional number

    @property
    def label(self) -> str:
        """What the sidebar calls it: the key's last part, in words."""
        return self.key.rpartition(".")[2].replace("_", " ")

    def shown(self, value: Any) -> Any:
        """The widget value of a config value (an optional number shows as text)."""
        if self.kind != "optional":
            return value
        return self.unset if value is None else _number_text(value, self.number)

    def parse(self, shown: Any) -> Any:
        """The config value of a widget value (sliders may send an int for a float)."""
        if self.kind == "optional":
            return None if shown == self.unset else self.number(float(shown))
        if self.kind in ("float", "int"):
            return {"float": float, "int": int}[self.kind](shown)
        return shown


def _number_text(value: float, number: type) -> str:
    return f"{int(round(value))}" if number is int else f"{value:g}"


def _unset_label(cls: type, name: str) -> str:
    """The choice that leaves a nullable parameter unset (it then follows its parent lever)."""
    parent = getattr(cls, "LEVER_PARENTS", {}).get(name)
    return f"same as {parent}" if parent else "unset"


def _control(cls: type, f: dataclasses.Field, tp: type, nullable: bool, value: Any) -> Control:
    """The control of one field whose type is a number, a boolean or a string with choices."""
    key = f"{cls.section}.{f.name}" if getattr(cls, "section", "") else f.name
    meta = f.metadata
    doc = meta.get("doc", "")
    if tp is bool:
        return Control(key, "bool", bool(value), doc)
    if tp is str:
        return Control(key, "choice", value, doc, choices=tuple(meta["choices"]))
    lo, hi = meta.get("lo"), meta.get("hi")
    ref = 0 if value is None else value
    lo = min(0, ref) if lo is None else lo
    hi = max(1, 2 * abs(ref)) if hi is None else hi
    if nullable:
        grid = [lo + (hi - lo) * i / 10 for i in range(11)][1 if meta.get("lo_open") else 0 :]
        values = [_number_text(v, tp) for v in grid]
        if value is not None and _number_text(value, tp) not in values:
            values.append(_number_text(value, tp))
        unset = _unset_label(cls, f.name)
        return Control(
            key, "optional", value, doc, choices=(unset, *values), unset=unset, number=tp
        )
    if tp is float:
        step = (hi - lo) / 100
        lo = lo + step if meta.get("lo_open") else lo
        return Control(key, "float", float(value), doc, float(lo), float(hi), float(step))
    step = max(1, int((hi - lo) // 200))
    lo = lo + 1 if meta.get("lo_open") else lo
    return Control(key, "int", int(value), doc, int(lo), int(hi), step)


def controls_of(cls: type, values: Any, names: Iterable[str] | None = None) -> list[Control]:
    """Controls for the fields of a parameter dataclass (all fields, or those named).

    Numbers get a slider over the field's documented range (100 steps for a float; a missing
    bound is taken from the value), booleans a checkbox, strings with allowed values a select;
    a number that may be left unset (``None``, e.g. a sub-lever that then follows its headline
    lever) gets a select of "unset" and eleven values across its range. Free strings (such as a
    package's name) and nested dataclasses are skipped.

    Args:
        cls: A params dataclass of :mod:`sim.params`.
        values: An instance of ``cls`` whose values the controls start from.
        names: The fields wanted (default: all).
    """
    types_ = field_types(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for name in fields if names is None else names:
        tp, nullable = types_[name].base, types_[name].nullable
        if tp in (bool, int, float) or (tp is str and fields[name].metadata.get("choices")):
            out.append(_control(cls, fields[name], tp, nullable, getattr(values, name)))
    return out


# --------------------------------------------------------------------------- packages


def packages() -> list[str]:
    """The policy packages a user can choose: the options of ``configs/policy/``."""
    return available_options("policy")


@functools.lru_cache(maxsize=64)
def package_config(package: str) -> Config:
    """The config of a package with every other setting at its default (composed by
    :func:`sim.load_config`, so the page shows what the package's YAML file says)."""
    return sim.load_config([f"policy={package}"])


@functools.lru_cache(maxsize=64)
def lever_controls(package: str = DEFAULT_PACKAGE) -> tuple[Control, ...]:
    """A control for every policy lever, starting from the package's values."""
    return tuple(controls_of(PolicyParams, package_config(package).policy))


def run_controls() -> list[Control]:
    """The run settings beside the levers (population, seed, week of the crisis call)."""
    docs = {f"model.{f.name}": f.metadata.get("doc", "") for f in dataclasses.fields(ModelParams)}
    docs.update({f.name: f.metadata.get("doc", "") for f in dataclasses.fields(Config)})
    return [
        Control(key, "int", start, docs[key], lo, hi, step)
        for key, (start, lo, hi, step) in RUN_SLIDERS.items()
    ]


def _override_value(value: Any) -> str:
    """A value as Hydra's override grammar writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """What the user has set: a package, the values moved away from its start, more overrides.

    Attributes:
        package: The policy package (an option of ``configs/policy/``).
        changed: Config key -> value, for the run settings and levers the user moved away from
            their starting value (a lever's start is the package's value).
        extra: Further Hydra overrides typed by the user, e.g. ``model.need_rate=0.05``.
    """

    package: str = DEFAULT_PACKAGE
    changed: dict[str, Any] = field(default_factory=dict)
    extra: str = ""

    def start(self, key: str) -> Any:
        """The starting value of a run setting or lever (the package's, for a lever)."""
        if key in RUN_SLIDERS:
            return RUN_SLIDERS[key][0]
        section, _, name = key.partition(".")
        return getattr(getattr(package_config(self.package), section), name)

    def value(self, key: str) -> Any:
        """The value of a run setting or lever as set now."""
        return self.changed.get(key, self.start(key))

    def with_value(self, key: str, value: Any) -> Settings:
        """These settings with one value set (forgotten again when back at its start)."""
        changed = {k: v for k, v in self.changed.items() if k != key}
        if value != self.start(key):
            changed[key] = value
        return dataclasses.replace(self, changed=changed)

    def with_package(self, package: str) -> Settings:
        """These settings with another package, whose levers start afresh."""
        changed = {k: v for k, v in self.changed.items() if not k.startswith("policy.")}
        return dataclasses.replace(self, package=package, changed=changed)

    def overrides(self) -> list[str]:
        """The Hydra overrides of these settings: package, run settings, levers, then extra.

        Raises:
            ConfigError: If the extra overrides cannot be split into words (an open quote).
        """
        try:
            extra = shlex.split(self.extra)
        except ValueError as exc:
            raise ConfigError(f"more settings = {self.extra!r}: {exc}") from None
        run = [f"{key}={_override_value(self.value(key))}" for key in RUN_SLIDERS]
        levers = [
            f"{k}={_override_value(v)}" for k, v in self.changed.items() if k not in RUN_SLIDERS
        ]
        return [f"policy={self.package}", *run, *levers, *extra]


# --------------------------------------------------------------------------- components


@solara.component
def ControlInput(control: Control, value: Any, on_value: Callable[[Any], None]):
    """The widget of one control, showing ``value`` and reporting config values."""

    def report(shown: Any) -> None:
        on_value(control.parse(shown))

    shown = control.shown(value)
    if control.kind == "bool":
        solara.Checkbox(label=control.label, value=shown, on_value=report)
    elif control.kind in ("choice", "optional"):
        solara.Select(control.label, values=list(control.choices), value=shown, on_value=report)
    else:
        slider = solara.SliderFloat if control.kind == "float" else solara.SliderInt
        slider(
            control.label,
            value=shown,
            min=control.lo,
            max=control.hi,
            step=control.step,
            on_value=report,
        )


@solara.component
def SettingsPanel(settings: solara.Reactive[Settings]):
    """The sidebar's settings: package, run settings, levers and further overrides."""
    current = settings.value

    def setter(key: str) -> Callable[[Any], None]:
        return lambda value: settings.set(settings.value.with_value(key, value))

    with solara.Card("Policy package and levers", margin=0):
        solara.Select(
            "policy package",
            values=packages(),
            value=current.package,
            on_value=lambda package: settings.set(settings.value.with_package(package)),
        )
        for control in lever_controls(current.package):
            ControlInput(control, current.value(control.key), setter(control.key))
    with solara.Card("Population, seed, crisis call", margin=0):
        for control in run_controls():
            ControlInput(control, current.value(control.key), setter(control.key))
    with solara.Card("More settings", margin=0):
        solara.InputText(
            "Hydra overrides, e.g. model.need_rate=0.05",
            value=current.extra,
            on_value=lambda text: settings.set(dataclasses.replace(settings.value, extra=text)),
        )
