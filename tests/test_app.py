"""The interactive explorer (app.py), rendered headless with solara: no browser, no server.

The page is rendered inside an ``AppLayout`` (as ``solara run`` does), so SolaraViz's sidebar
with its controls is part of the widget tree; buttons are clicked and sliders moved through
their widgets, which runs the same Python handlers a browser would.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
import typing
from pathlib import Path

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import pytest
import solara
import solara.widgets

from sim.params import ConfigError, ModelParams, PolicyParams

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import app  # noqa: E402


def render_page():
    """Render the page as the server does (in an AppLayout, which hosts the sidebar)."""

    @solara.component
    def Root():
        with solara.AppLayout():
            app.Page()

    return solara.render(Root(), handle_error=False)


def status(rc) -> str:
    """The status line of the main area ("Week N · ...")."""
    return next(
        w.unsafe_innerHTML
        for w in rc.find(solara.widgets.HTML).widgets
        if "explorer-status" in (w.unsafe_innerHTML or "")
    )


def week_of(rc) -> int:
    text = status(rc)
    return int(text.split("Week ", 1)[1].split("<", 1)[0])


def html_text(rc) -> str:
    """All HTML shown by the page (status line, tables, legend)."""
    return " ".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)


def image_bytes(rc) -> list[bytes]:
    """The PNGs shown in the main area (network sample, outcome plots)."""
    return [bytes(w.value) for w in rc.find(widgets.Image).widgets]


# ----------------------------------------------------------------------------- controls
def test_every_policy_lever_has_a_control():
    """Levers come from PolicyParams' fields, so a lever added there shows up with no edit."""
    params = app.model_params()
    hints = typing.get_type_hints(PolicyParams)
    for f in dataclasses.fields(PolicyParams):
        tp, _ = app._field_type(hints[f.name])
        if tp is str and not f.metadata.get("choices"):
            assert f.name not in params  # a free label (the package name) is no lever
            continue
        assert f.name in params, f"policy lever {f.name} has no control"
        entry = params[f.name]
        if entry["type"] in ("SliderFloat", "SliderInt"):
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            assert entry["min"] >= (lo if lo is not None else -np.inf)
            assert entry["max"] <= (hi if hi is not None else np.inf)
            assert entry["min"] <= entry["value"] <= entry["max"]
        elif entry["type"] == "Select":
            assert entry["value"] in entry["values"]
    for name in ("people", "seed", "crisis_start"):
        assert name in params


def test_model_params_build_a_model_with_the_controls_defaults():
    """What the sidebar sends on Reset (each control at its default) builds a valid model."""
    settings = {k: e["value"] for k, e in app.model_params().items()}
    settings["people"] = 1000
    model = app.ExplorerModel(**settings)
    assert model.policy == PolicyParams()
    assert model.params.people == 1000


def test_settings_are_validated_by_the_dataclasses():
    with pytest.raises(ValueError, match="not a model parameter or policy lever"):
        app.build_params(1000, {"coverige": 0.5})
    with pytest.raises(ConfigError, match="policy.coverage"):
        app.build_params(1000, {"coverage": 1.5})
    with pytest.raises(ConfigError, match="model.people"):
        app.build_params(10, {})
    # selects send text; an unset sub-lever follows its headline lever
    params, policy = app.build_params(1000, {"coverage": 1, "crisis_start": 10.0})
    assert policy.coverage == 1.0 and isinstance(policy.coverage, float)
    assert params.crisis_start == 10 and isinstance(params.crisis_start, int)
    nullable = [f.name for f in dataclasses.fields(PolicyParams) if f.default is None]
    for name in nullable:
        choices = app.model_params()[name]["values"]
        _, policy = app.build_params(1000, {name: choices[0]})
        assert getattr(policy, name) is None
        _, policy = app.build_params(1000, {name: choices[-1]})
        assert getattr(policy, name) == pytest.approx(float(choices[-1]))


# ----------------------------------------------------------------------------- network view
def test_network_sample_is_deterministic_bounded_and_independent_of_levers():
    a = app.ExplorerModel(people=2000, seed=4, sample_size=600)
    b = app.ExplorerModel(people=2000, seed=4, sample_size=600, coverage=1.0, embedding=1.0)
    c = app.ExplorerModel(people=2000, seed=5, sample_size=600)
    assert a.sample.people.size == 600
    np.testing.assert_array_equal(a.sample.people, b.sample.people)
    np.testing.assert_array_equal(a.sample.pos, b.sample.pos)  # same network, same picture
    assert not np.array_equal(a.sample.people, c.sample.people)
    assert np.all((a.sample.pos >= 0) & (a.sample.pos <= 1))
    assert app.ExplorerModel(people=1000, seed=1, sample_size=5000).sample.people.size == 1000
    # drawing the sample does not touch the model's random stream
    plain = app.PartyBuildingModel(ModelParams(people=2000, crisis_start=52), PolicyParams(), rng=4)
    for m in (a, plain):
        m.step()
    np.testing.assert_array_equal(a.people.x, plain.people.x)


def test_coverage_and_embedding_change_the_picture():
    """With the same network, more coverage and embedding: fewer floating members, more
    dual-registered ones, and a different image."""
    low = app.ExplorerModel(people=4000, seed=2, sample_size=1000, coverage=0.0, embedding=0.0)
    high = app.ExplorerModel(people=4000, seed=2, sample_size=1000, coverage=1.0, embedding=1.0)
    for m in (low, high):
        m.step()
    ids = low.sample.people
    floating = [
        int((m.people.member[ids] & (m.people.home_branch[ids] < 0)).sum()) for m in (low, high)
    ]
    dual = [int(m.people.dual_registered[ids].sum()) for m in (low, high)]
    assert floating[1] < floating[0]
    assert dual[0] == 0 < dual[1]
    assert app.NetworkPainter().render(low) != app.NetworkPainter().render(high)


# ----------------------------------------------------------------------------- page
def test_page_renders_steps_fast_and_applies_levers_on_reset():
    """One page (built once: 10,000 people): its controls and displays; Step updates both
    displays within half a second; a lever moved in the sidebar applies on Reset."""
    box, page = render_page()
    try:
        # controls and displays
        buttons = {tuple(b.children) for b in page.find(v.Btn).widgets}
        assert {("Reset",), ("Step",), ("▶",)} <= buttons
        labels = {w.label for w in page.find(v.Slider).widgets}
        assert {"people", "seed", "coverage", "embedding", "openness"} <= labels
        assert len(image_bytes(page)) == 2  # network sample, outcome plots
        assert all(img.startswith(b"\x89PNG") for img in image_bytes(page))
        for outcome in ("cohesion", "mobilization", "identification", "burden", "floating gap"):
            assert f"<td>{outcome}</td>" in html_text(page)

        # stepping redraws both displays, within half a second at 10,000 people
        step = page.find(v.Btn, children=["Step"]).widget
        assert week_of(page) == 0
        before = image_bytes(page)
        step.click()  # warm-up (first draw of the plots' background)
        wall, cpu = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.thread_time()
            step.click()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        assert week_of(page) == 6
        after = image_bytes(page)
        assert all(a != b for a, b in zip(before, after, strict=True))
        print(
            f"step + render at 10,000 people: median {statistics.median(wall) * 1000:.0f} ms "
            f"wall, {statistics.median(cpu) * 1000:.0f} ms CPU"
        )
        # CPU time of the handler's thread: what a step costs, whatever else runs on the machine
        assert statistics.median(cpu) < 0.5

        # a lever moved in the sidebar applies when the model is rebuilt
        page.find(v.Slider, label="coverage").widget.v_model = 1.0
        assert '<td>coverage</td><td class="num">0.500</td>' in html_text(page)
        page.find(v.Btn, children=["Reset"]).widget.click()
        assert week_of(page) == 0
        assert '<td>coverage</td><td class="num">1.000</td>' in html_text(page)
        step.click()
        assert week_of(page) == 1
    finally:
        page.close()


def test_asset_versions_match_the_installed_solara():
    versions = app.asset_versions()
    assert "requirejs" in versions and "font-awesome" in versions
    assert any(k.startswith("@widgetti/solara-vuetify") for k in versions)
