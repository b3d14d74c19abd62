# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Comparing scenarios
#
# This notebook reads the results a sweep wrote; it never runs the model. Choose the experiment
# with `SIM_EXPERIMENT` (default `default`) and the output root with `SIM_OUTPUT_ROOT` (default
# `outputs`). Make the notebook with `jupytext --to ipynb notebooks/compare_scenarios.py` and
# open it in Jupyter (the `.ipynb` is not committed), or print its tables without Jupyter:
#
#     SIM_EXPERIMENT=smoke PYTHONPATH=. .venv/bin/python notebooks/compare_scenarios.py
# Everything below comes from the result files through
# `experiments.provenance.ExperimentRecord`, and every statistic from `experiments.stats`.

# %%
import os

import pandas as pd
from IPython.display import display

from experiments import factorial
from experiments.figures.metrics import METRICS, SHARES, run_metrics
from experiments.figures.panels import reference_of
from experiments.provenance import ExperimentRecord
from experiments.stats import (
    clip_shares,
    paired_summary,
    precision,
    summarise,
)

EXPERIMENT = os.environ.get("SIM_EXPERIMENT", "default")
record = ExperimentRecord.read(EXPERIMENT)  # root: $SIM_OUTPUT_ROOT, else outputs
for warning in record.warnings:
    print(warning)
print(record.caption())
record.manifest.groupby("scenario")["seed"].nunique().rename("seeds").to_frame()

# %% [markdown]
# What each run recorded (a few keys of its provenance):

# %%
keys = ["scenario", "seed", "git_commit", "model.people", "run.steps", "policy.name"]
record.manifest[[k for k in keys if k in record.manifest.columns]].head(8)

# %% [markdown]
# ## Every outcome per scenario, with 95% confidence intervals across seeds
#
# Each run is reduced to one number per outcome (final-year mean; mobilization is the peak
# participation share during the call). The interval is the Student-t 95% CI of the mean over
# seeds; for shares it is cut to [0, 1] (`clipped` says where). With one seed there is no
# interval (NaN).

# %%
order = record.scenarios
outcomes = [m for m, (column, _, _) in METRICS.items() if column in record.runs.columns]
per_run = run_metrics(record.runs, outcomes)
levels = clip_shares(summarise(per_run), SHARES)


def with_ci(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Scenario x outcome cells of ``mean [low, high]``."""
    cell = table.apply(
        lambda r: f"{r['mean']:.{digits}f} [{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]",
        axis=1,
    )
    out = table.assign(cell=cell).pivot(index="scenario", columns="metric", values="cell")
    return out.reindex(index=[s for s in order if s in out.index], columns=outcomes)


with_ci(levels)

# %% [markdown]
# ## Paired differences from the reference, effect sizes and precision
#
# Runs with the same seed share their random draws (common random numbers), so each scenario
# is compared with the reference seed by seed: `mean` is the mean paired difference with its
# 95% CI, `d_z` is Cohen's paired effect size (mean difference over the SD of the differences;
# about 0.2 small, 0.5 medium, 0.8 large; NaN when every seed agrees exactly or with one
# seed), and `sufficient` says whether the seeds pin the difference down: the CI half-width is
# at most 0.01 or at most half the difference (`seeds_needed` estimates how many would).

# %%
reference = reference_of(order)
ref_runs = per_run[per_run["scenario"] == reference].drop(columns=["scenario"])
others = per_run[per_run["scenario"] != reference]
paired = precision(paired_summary(others, ref_runs)) if len(others) else pd.DataFrame()
print(f"reference: {reference}")
if len(paired):
    print("paired difference from the reference, mean [95% CI]:")
    display(with_ci(paired, 4))
    print("Cohen's d_z (mean paired difference / SD of the differences):")
    display(
        paired.pivot(index="scenario", columns="metric", values="d_z")
        .reindex(columns=outcomes)
        .round(2)
    )
    print("precision of each difference (95% CI half-width; seeds suffice?):")
    display(
        paired[["scenario", "metric", "mean", "half_width", "n", "sufficient", "seeds_needed"]]
        .sort_values(["metric", "scenario"])
        .round(4)
    )

# %% [markdown]
# ## The four-dimension synergy (experiment `four_dimensions`)
#
# In the 2^4 factorial each scenario is named by its switches, a letter for a package that is
# on and `-` for one that is off: S(ubject), F(oundation), I(ntegration), O(penness); `----` is
# the baseline, `SFIO` all four. Per seed, synergy = (all four - baseline) - the sum of the four
# single effects; positive means the whole beats the sum of its parts. `whole` is the total
# effect of the four together, `sum of singles` what adding up the single packages predicts;
# the interval is the 95% CI over seeds (`experiments.factorial`, which the experiment's figure
# also uses).

# %%
if EXPERIMENT == "four_dimensions":
    whole = factorial.synergy(per_run)
    table = whole.pivot(index="metric", columns="term", values="mean")
    syn = whole[whole["term"] == "synergy"].set_index("metric")
    for metric, r in syn.iterrows():
        print(
            f"synergy of {metric}: {r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
            f" (all four {table.loc[metric, 'whole']:.4f}, sum of singles "
            f"{table.loc[metric, 'sum of singles']:.4f}, {int(r['n'])} seeds)"
        )
    display(whole.round(4))
else:
    print(f"{EXPERIMENT}: not the four-dimension factorial; no synergy to compute")

# %% [markdown]
# ## How to read these tables
#
# * A level's interval says how well the seeds pin down that scenario's mean; two overlapping
#   level intervals do **not** mean "no difference": read the paired difference instead, which
#   removes the noise the runs of a seed share.
# * A paired difference whose interval excludes 0 is a difference the seeds resolve; its size
#   matters against the outcome's scale (shares in [0, 1]), `d_z` against the seed-to-seed
#   spread.
# * `sufficient = False` means more seeds are needed before the difference is reported;
#   `seeds_needed` is the estimate (the half-width shrinks like 1 / sqrt(seeds)).
# * Everything is conditional on the recorded configuration (population, weeks): see the
#   provenance table above.
