"""The shared statistics (experiments.stats) against scipy and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.stats import (
    clip_shares,
    cohens_dz,
    half_width,
    paired_difference,
    paired_summary,
    precision,
    precision_line,
    series_interval,
    summarise,
    t_interval,
)


def test_t_interval_matches_scipy():
    x = [0.1, 0.4, 0.35, 0.2, 0.3]
    ci = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert ci.mean == pytest.approx(np.mean(x))
    assert (ci.low, ci.high) == pytest.approx(ref)
    assert ci.half_width == pytest.approx((ci.high - ci.low) / 2)
    assert ci.n == 5 and ci.sd == pytest.approx(np.std(x, ddof=1)) and ci.level == 0.95


def test_t_quantiles_from_tables():
    # two-sided t quantiles from printed tables: df=4 at 95%: 2.776; df=1 at 90%: 6.314;
    # df=9 at 99%: 3.250
    for level, n, quantile in ((0.95, 5, 2.7764), (0.90, 2, 6.3138), (0.99, 10, 3.2498)):
        assert half_width(1.0, n, level) * np.sqrt(n) == pytest.approx(quantile, abs=1e-4)


def test_t_interval_small_samples_and_nan():
    one = t_interval([0.3])
    assert one.mean == 0.3 and one.n == 1
    assert np.isnan(one.half_width) and np.isnan(one.low) and np.isnan(one.high)
    none = t_interval([])
    assert none.n == 0 and np.isnan(none.mean)
    assert t_interval([1.0, np.nan, 3.0]) == t_interval([1.0, 3.0])


def test_half_width_is_vectorised():
    sd, n = np.array([0.1, 0.2, 0.3]), np.array([1, 2, 30])
    out = half_width(sd, n)
    assert np.isnan(out[0])
    assert out[1] == pytest.approx(t_interval([0.0, 0.2 * np.sqrt(2)]).half_width)  # sd 0.2
    assert out[2] == pytest.approx(stats.t.ppf(0.975, 29) * 0.3 / np.sqrt(30))


def test_paired_difference_is_the_interval_of_the_differences():
    rng = np.random.default_rng(1)
    seeds = np.arange(8)
    ref = pd.Series(rng.normal(0.5, 0.1, 8), index=seeds)
    scen = pd.Series(ref.to_numpy() + rng.normal(0.05, 0.02, 8), index=seeds)
    diff = paired_difference(scen, ref)
    assert diff == t_interval(scen.to_numpy() - ref.to_numpy())
    # matched on seed, not position; seeds only one side has are left out
    shuffled = scen.sample(frac=1, random_state=3)
    partial = paired_difference(shuffled, ref.drop(index=[0, 5]))
    assert partial.n == 6
    assert partial.mean == pytest.approx((scen - ref).drop(index=[0, 5]).mean())


def test_pairing_narrows_the_interval_when_seeds_are_positively_correlated():
    rng = np.random.default_rng(7)
    common = rng.normal(0.0, 0.1, 10)  # what a seed does to both scenarios
    ref = pd.Series(0.5 + common + rng.normal(0, 0.01, 10))
    scen = pd.Series(0.52 + common + rng.normal(0, 0.01, 10))
    paired = paired_difference(scen, ref)
    a, b = t_interval(scen), t_interval(ref)
    unpaired = stats.ttest_ind(scen, ref, equal_var=False).confidence_interval(0.95)
    assert np.corrcoef(scen, ref)[0, 1] > 0.9
    assert paired.half_width < (unpaired.high - unpaired.low) / 2 / 5
    assert paired.mean == pytest.approx(a.mean - b.mean)
    assert paired.low > 0 > unpaired.low  # only the paired comparison resolves the sign


def test_paired_difference_needs_one_value_per_seed():
    twice = pd.Series([1.0, 2.0], index=[0, 0])
    with pytest.raises(ValueError, match="more than one value per seed"):
        paired_difference(twice, pd.Series([1.0], index=[0]))


def per_run_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {"scenario": s, "seed": k, "x": lift + rng.normal(0, 0.1), "y": rng.normal()}
        for s, lift in (("baseline", 0.0), ("open", 0.3))
        for k in range(5)
    ]
    return pd.DataFrame(rows)


def test_summarise_is_t_interval_per_condition_and_metric():
    metrics = per_run_table()
    summary = summarise(metrics).set_index(["scenario", "metric"])
    assert len(summary) == 4
    for (scenario, metric), row in summary.iterrows():
        ci = t_interval(metrics.loc[metrics["scenario"] == scenario, metric])
        assert (row["mean"], row["ci_low"], row["ci_high"], row["n"]) == pytest.approx(
            (ci.mean, ci.low, ci.high, ci.n)
        )
        assert row["cv_mean"] == pytest.approx(ci.sd / np.sqrt(5) / abs(ci.mean))


def test_paired_summary_is_paired_difference_per_condition():
    metrics = per_run_table()
    reference = metrics[metrics["scenario"] == "baseline"]
    out = paired_summary(metrics, reference).set_index(["scenario", "metric"])
    assert out.loc[("baseline", "x"), "mean"] == 0 and out.loc[("baseline", "x"), "sd"] == 0
    ref = reference.set_index("seed")["x"]
    scen = metrics[metrics["scenario"] == "open"].set_index("seed")["x"]
    ci = paired_difference(scen, ref)
    row = out.loc[("open", "x")]
    assert (row["mean"], row["ci_low"], row["ci_high"], row["n"]) == pytest.approx(
        (ci.mean, ci.low, ci.high, 5)
    )


def test_series_interval_per_step():
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 6 + ["b"] * 2,
            "seed": [0, 0, 1, 1, 2, 2, 0, 0],
            "step": [1, 2] * 4,
            "v": [0.1, 0.2, 0.3, 0.5, 0.2, 0.9, 0.4, 0.4],
        }
    )
    band = series_interval(runs, "v").set_index(["scenario", "step"])
    ci = t_interval([0.2, 0.5, 0.9])
    assert (band.loc[("a", 2), "ci_low"], band.loc[("a", 2), "ci_high"]) == pytest.approx(
        (ci.low, ci.high)
    )
    assert band.loc[("b", 1), "mean"] == 0.4 and np.isnan(band.loc[("b", 1), "half_width"])


def test_cohens_dz_and_precision():
    diff = pd.Series([0.01, 0.03, 0.02, 0.04], index=range(4))
    iv = paired_difference(diff, pd.Series(0.0, index=range(4)))
    assert cohens_dz(iv) == pytest.approx(diff.mean() / diff.std(ddof=1))
    assert np.isnan(cohens_dz(t_interval([0.1])))
    rows = pd.DataFrame(
        {"mean": [0.1, 0.001, 0.3], "half_width": [0.02, 0.02, np.nan], "n": [5, 5, 1]}
    )
    out = precision(rows)
    # 0.02 <= half of 0.1; 0.02 > max(0.01, 0.0005); one seed has no interval
    assert out["sufficient"].tolist() == [True, False, False]
    assert out["target"].tolist() == pytest.approx([0.05, 0.01, 0.15])
    assert out["seeds_needed"].iloc[1] == 20  # 5 * (0.02 / 0.01)^2
    assert np.isnan(out["seeds_needed"].iloc[2])
    line = precision_line(out)
    assert "2 headline differences" in line and "suffice for 1 of 2" in line
    assert "up to 20 seeds needed" in line


def test_clip_shares_cuts_only_shares_at_their_bounds():
    summary = pd.DataFrame(
        {
            "metric": ["cohesion", "cohesion", "floating_gap"],
            "ci_low": [-0.02, 0.3, -0.1],
            "ci_high": [0.05, 1.04, 0.1],
        }
    )
    out = clip_shares(summary, ["cohesion"])
    assert out["ci_low"].tolist() == [0.0, 0.3, -0.1]
    assert out["ci_high"].tolist() == [0.05, 1.0, 0.1]
    assert out["clipped"].tolist() == [True, True, False]
