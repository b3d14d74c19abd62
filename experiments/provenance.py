"""What an experiment's result files say ran: the one source of figure labels and captions.

A figure must describe the runs it draws, not today's config, which may have changed since.
:class:`ExperimentRecord` reads an experiment's runs and their provenance through
:func:`experiments.results.read_experiment` (the only code that knows the on-disk layout) and
answers the questions a figure asks: which figure(s) to draw, the scenarios in the experiment's
order, the swept levers of every run, seeds, population size, weeks and the crisis call.

Runs of one scenario must differ only in their seed; if they do not, reading fails with one
line naming the key, the values and a file of each. Values describing the experiment rather
than the run (its figure, its list of scenarios) come from the newest run, with a one-line
warning if older runs recorded something else.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.results import ResultsError, read_experiment
from experiments.stats import LEVEL

#: Manifest columns that are not part of a run's config.
_NOT_CONFIG = (
    "file",
    "scenario",
    "seed",
    "run",
    "config_hash",
    "git_commit",
    "model_version",
    "created_utc",
    "design_row",
)


def _show(value: Any) -> str:
    """A recorded value as a caption shows it: ``2,000``, ``0.35``, ``True``."""
    if isinstance(value, bool | np.bool_) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as its result files recorded it.

    Attributes:
        name: Experiment name.
        runs: Per-step table of every run (``scenario``, ``seed``, ``step``, outcomes).
        manifest: One row per run: ``file``, ``scenario``, ``seed`` and every config key as a
            dotted column (see :func:`experiments.results.read_experiment`).
        warnings: One-line notes on disagreements that do not stop a figure.
    """

    name: str
    runs: pd.DataFrame
    manifest: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, experiment: str, root: str | Path | None = None) -> ExperimentRecord:
        """Read an experiment's results and check that they describe one experiment.

        Args:
            experiment: Experiment name.
            root: Output root (default: ``$SIM_OUTPUT_ROOT`` or ``outputs``).

        Raises:
            FileNotFoundError: If the experiment has no results.
            ResultsError: If runs of one scenario differ in more than their seed, or a file
                has no provenance.
        """
        runs, manifest = read_experiment(experiment, root)
        record = cls(experiment, runs, manifest)
        record.check_scenarios()
        record.warnings.extend(record._horizon_warnings())
        return record

    # ----------------------------------------------------------------------- raw values

    def _column(self, key: str) -> pd.Series:
        if key not in self.manifest.columns:
            raise ResultsError(f"{key}: not recorded in the results of {self.name!r}")
        return self.manifest[key]

    def _disagreement(self, key: str, rows: pd.DataFrame, where: str = "") -> str:
        firsts = rows.drop_duplicates(key)
        shown = ", ".join(f"{_show(r[key])} in {r['file']}" for _, r in firsts[:3].iterrows())
        more = f" and {len(firsts) - 3} more values" if len(firsts) > 3 else ""
        return f"results disagree on {key}{where}: {shown}{more}"

    def value(self, key: str) -> Any:
        """The one value of a config key in every run.

        Raises:
            ResultsError: If runs recorded different values (the message names a file of each).
        """
        column = self._column(key)
        if column.nunique(dropna=False) > 1:
            raise ResultsError(self._disagreement(key, self.manifest))
        return column.iloc[0]

    def values(self, key: str) -> list[Any]:
        """The distinct values of a config key over the runs, sorted."""
        return sorted(self._column(key).dropna().unique())

    def span(self, key: str) -> str:
        """A config key's value for a caption: ``"2,000"``, or ``"2,000-10,000"`` if swept."""
        values = self.values(key)
        if not values:
            return "none"
        shown = [_show(v) for v in (values[0], values[-1])]
        return shown[0] if shown[0] == shown[1] else "-".join(shown)

    def newest(self, key: str) -> Any:
        """The value the newest run recorded, with a warning if older runs disagree.

        For keys that describe the experiment rather than a run (its figure, its scenario
        list): a run that is reused unchanged keeps the provenance it was written with.
        """
        column = self._column(key)
        if column.nunique(dropna=False) > 1:
            note = f"warning: {self._disagreement(key, self.manifest)}; the newest run's is used"
            if note not in self.warnings:
                self.warnings.append(note)
        order = self.manifest.sort_values(["created_utc", "file"], na_position="first")
        return order[key].iloc[-1]

    # ----------------------------------------------------------------------- the experiment

    @property
    def figures(self) -> tuple[str, ...]:
        """The figure(s) the experiment draws (``experiment.figure``; a name or a list)."""
        names = self.newest("experiment.figure")
        return (names,) if isinstance(names, str) else tuple(names)

    @property
    def scenarios(self) -> list[str]:
        """Scenarios in the experiment's order (``experiment.policies``), others after, sorted."""
        preferred = self.newest("experiment.policies") or ()
        found = set(self.manifest["scenario"])
        first = [s for s in preferred if s in found]
        return first + sorted(found - set(first))

    def run_keys(self) -> list[str]:
        """The recorded config keys that determine a run's numbers (all but ``experiment.*``)."""
        return [
            k
            for k in self.manifest.columns
            if k not in _NOT_CONFIG and not k.startswith("experiment.")
        ]

    def swept(self) -> list[str]:
        """Config keys whose value differs between runs (seed and scenario name aside)."""
        keys = [k for k in self.run_keys() if k != "policy.name"]
        counts = self.manifest[keys].nunique(dropna=False)
        return [k for k in keys if counts[k] > 1]

    def levers(self, keys: dict[str, str]) -> pd.DataFrame:
        """Some config keys of every run, for merging with per-run metrics.

        Args:
            keys: Dotted config key -> column name, e.g. ``{"policy.coverage": "coverage"}``.

        Returns:
            One row per run: ``scenario``, ``seed`` and one column per key.
        """
        for key in keys:
            self._column(key)
        return self.manifest[["scenario", "seed", *keys]].rename(columns=keys)

    def seeds(self) -> tuple[int, int]:
        """The fewest and the most seeds of any scenario."""
        n = self.manifest.groupby("scenario")["seed"].nunique()
        return int(n.min()), int(n.max())

    def caption(self, per: str = "scenario", detail: str = "", shown: str = "mean and {ci}") -> str:
        """A caption line stating what ran and what the interval is.

        Args:
            per: What a condition is called (``scenario``, ``cell``, ...).
            detail: More words on what ran, appended after the size of the runs.
            shown: What is drawn; ``{ci}`` becomes e.g. ``95% CI of the mean``.

        Returns:
            E.g. ``"smoke: mean and 95% CI of the mean over 2 seeds per scenario (500 people,
            30 weeks)"``; with one seed it says "single run ..., no interval".
        """
        low, high = self.seeds()
        if high < 2:
            interval = f"single run per {per} (1 seed), no interval"
        else:
            seeds = f"{low}" if low == high else f"{low}-{high}"
            ci = f"{LEVEL:.0%} CI of the mean"
            interval = f"{shown.format(ci=ci)} over {seeds} seeds per {per}"
        size = f"{self.span('model.people')} people, {self.span('run.steps')} weeks"
        return f"{self.name}: {interval} ({size}{'; ' + detail if detail else ''})"

    # ----------------------------------------------------------------------- checks

    def check_scenarios(self) -> None:
        """Fail if runs of one scenario differ in anything but their seed.

        Raises:
            ResultsError: Naming the scenario, the key, its values and a file of each.
        """
        counts = self.manifest.groupby("scenario")[self.run_keys()].nunique(dropna=False)
        mixed = counts.stack()
        mixed = mixed[mixed > 1]
        if mixed.empty:
            return
        scenario, key = mixed.index[0]
        rows = self.manifest[self.manifest["scenario"] == scenario]
        raise ResultsError(
            self._disagreement(key, rows, f" within scenario {scenario!r}")
            + "; rerun the scenario or move the stray files away"
        )

    def _horizon_warnings(self) -> list[str]:
        """A warning for each scenario whose crisis call does not fit in its runs."""
        out: list[str] = []
        if "model.crisis_start" not in self.manifest.columns:
            return out
        for scenario, rows in self.manifest.groupby("scenario", sort=True):
            start, weeks = rows["model.crisis_start"].iloc[0], rows["model.crisis_weeks"].iloc[0]
            steps = rows["run.steps"].iloc[0]
            if start >= 0 and start + weeks - 1 > steps:
                out.append(
                    f"warning: scenario {scenario!r}: the crisis call (weeks {start}-"
                    f"{start + weeks - 1}) does not end within the run's {steps} weeks; "
                    "mobilization misses part or all of it"
                )
        return out
