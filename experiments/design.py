"""Design sweeps: Latin hypercube, Sobol (Saltelli) and Morris samples over parameter ranges.

Besides a grid (``hydra.sweeper.params``), an experiment file may declare a sampling design
once, in its ``experiment.design`` section; the runner expands it into one run per design row
(times the grid's seeds and other sweeps)::

    experiment:
      design:
        kind: morris            # lhs | sobol | morris
        n: 10                   # lhs: rows; sobol: base samples N (rows N*(2D+2) with
                                #   second order, N*(D+2) without); morris: trajectories
                                #   (rows n*(D+1))
        seed: 0                 # seed of the draw (not of the runs)
        levels: 4               # morris only: grid levels (default 4)
        second_order: true      # sobol only (default true)
        params:                 # dotted config key: [low, high]
          policy.coverage: [0, 1]
          policy.embedding: [0, 1]
          model.people: [2000, 6000]   # a whole-number key is rounded

    hydra:
      sweeper:
        params:
          seed: range(2)

Each row becomes ``key=value`` overrides, validated like any other; the drawn values are in
every result as columns (all parameters are, see :mod:`experiments.results`), and the row's
number is recorded in the provenance as ``design_row``. Samples use ``scipy.stats.qmc`` (Latin
hypercube) and SALib (``SALib.sample.sobol`` for Saltelli's scheme, ``SALib.sample.morris``),
so ``SALib.analyze.sobol`` / ``SALib.analyze.morris`` can analyse the results in row order
(:func:`design_problem` gives SALib's problem dict; sort the runs by ``design_row``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.params import ConfigError

KINDS = ("lhs", "sobol", "morris")


def design_problem(design: dict[str, Any]) -> dict[str, Any]:
    """SALib's problem dict (``num_vars``, ``names``, ``bounds``) of a design section.

    Raises:
        ConfigError: If the parameters or their ranges are malformed (one line).
    """
    params = design.get("params")
    if not isinstance(params, dict) or not params:
        raise ConfigError(
            f"experiment.design.params = {params!r}: must map dotted keys to [low, high], "
            "e.g. {policy.coverage: [0, 1]}"
        )
    bounds = []
    for key, span in params.items():
        ok = isinstance(span, list | tuple) and len(span) == 2
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in span)
        if not ok or not span[0] < span[1]:
            raise ConfigError(
                f"experiment.design.params.{key} = {span!r}: must be [low, high] with low < high"
            )
        bounds.append([float(span[0]), float(span[1])])
    return {"num_vars": len(params), "names": list(params), "bounds": bounds}


def sample(design: dict[str, Any]) -> np.ndarray:
    """The design's rows: an array of shape (rows, parameters) within the ranges.

    Raises:
        ConfigError: If the design section is malformed (one line naming key and value).
    """
    kind = design.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"experiment.design.kind = {kind!r}: must be one of {', '.join(KINDS)}")
    n = design.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"experiment.design.n = {n!r}: must be a whole number >= 1")
    known = {"kind", "n", "seed", "params", "levels", "second_order"}
    for key in design:
        if key not in known:
            raise ConfigError(
                f"experiment.design.{key}: unknown key; allowed: {', '.join(sorted(known))}"
            )
    problem = design_problem(design)
    seed = int(design.get("seed", 0))
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], seed=seed).random(n)
        lo, hi = np.array(problem["bounds"]).T
        return qmc.scale(unit, lo, hi)
    if kind == "sobol":
        from SALib.sample import sobol

        second = bool(design.get("second_order", True))
        return sobol.sample(problem, n, calc_second_order=second, seed=seed)
    from SALib.sample import morris

    levels = int(design.get("levels", 4))
    return morris.sample(problem, n, num_levels=levels, seed=seed)


def _is_int_key(key: str) -> bool:
    """Whether a dotted config key holds a whole number (so drawn values are rounded)."""
    from sim.config import _field
    from sim.params import field_types

    cls, f = _field(key)
    if cls is None or f is None:
        raise ConfigError(f"experiment.design.params.{key}: not a config key")
    return field_types(cls)[f.name].base is int


def design_overrides(design: dict[str, Any]) -> list[list[str]]:
    """One list of ``key=value`` overrides per design row (empty list for no design).

    Args:
        design: The ``experiment.design`` section ({} for none).
    """
    if not design:
        return []
    rows = sample(design)
    keys = list(design["params"])
    ints = [_is_int_key(k) for k in keys]
    out = []
    for row in rows:
        values = [
            str(int(round(v))) if i else repr(float(v)) for v, i in zip(row, ints, strict=True)
        ]
        out.append([f"{k}={v}" for k, v in zip(keys, values, strict=True)])
    return out
