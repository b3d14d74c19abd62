"""The interactive explorer (package ``app/``), rendered headless with solara: no browser, no
server.

The page is rendered inside an ``AppLayout`` (as ``solara run`` does), so the sidebar with its
controls is part of the widget tree; buttons are clicked, sliders moved and text entered through
their widgets, which runs the same Python handlers a browser would.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import runpy
import statistics
import sys
import time
import weakref
from pathlib import Path

import ipyvuetify as v
import ipywidgets as widgets
import numpy as np
import pytest
import solara
import solara.widgets

import sim
from sim.model import PartyBuildingModel
from sim.params import ConfigError, PolicyParams, field_types

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app import controls, model_view, page  # noqa: E402
from app.live import LiveRun  # noqa: E402
from app.network_view import NetworkPainter  # noqa: E402


def run_of(people: int, seed: int = 0, sample_size: int = 2000, **levers) -> LiveRun:
    """A live run of the baseline package with some levers and run settings set."""
    settings = controls.Settings()
    for key, value in {"model.people": people, "seed": seed}.items():
        settings = settings.with_value(key, value)
    for name, value in levers.items():
        settings = settings.with_value(f"policy.{name}", value)
    return LiveRun.build(settings.overrides(), sample_size=sample_size)


def render_page():
    """Render the page as the server does (in an AppLayout, which hosts the sidebar)."""

    @solara.component
    def Root():
        with solara.AppLayout():
            page.Page()

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
    """All HTML shown by the page (status line, tables, legend, next config)."""
    return " ".join(w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets)


def image_bytes(rc, tab: str = "live") -> list[bytes]:
    """The PNGs shown in the live model's main area (network sample, outcome plots), or with
    ``tab="sweep"`` in the sweep view."""
    sweep = tab == "sweep"
    return [
        bytes(w.value)
        for w in rc.find(widgets.Image).widgets
        if ("sweep-plots" in w._dom_classes) == sweep
    ]


def errors_shown(rc) -> list[str]:
    """The text of the config errors shown on the page."""
    return [
        " ".join(str(c) for c in w.children)
        for w in rc.find(v.Alert).widgets
        if "config-error" in (w.class_ or "")
    ]


# ----------------------------------------------------------------------------- controls
@pytest.mark.parametrize("package", ["baseline", "fusion", "openness", "foundation"])
def test_every_policy_lever_has_a_control_starting_at_the_package_value(package):
    """Levers come from PolicyParams' fields, so a lever added there shows up with no edit; each
    starts at the value the package's YAML file gives (as sim.load_config composes it)."""
    assert package in controls.packages()
    expected = sim.load_config([f"policy={package}"]).policy
    assert expected.name == package
    by_key = {c.key: c for c in controls.lever_controls(package)}
    types_ = field_types(PolicyParams)
    for f in dataclasses.fields(PolicyParams):
        tp = types_[f.name].base
        if tp is str and not f.metadata.get("choices"):
            assert f"policy.{f.name}" not in by_key  # a free label (the package name) is no lever
            continue
        c = by_key.pop(f"policy.{f.name}")
        assert c.value == getattr(expected, f.name), f.name
        if c.kind in ("float", "int"):
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            assert c.lo >= (lo if lo is not None else -np.inf)
            assert c.hi <= (hi if hi is not None else np.inf)
            assert c.lo <= c.value <= c.hi
        elif c.kind in ("choice", "optional"):
            assert c.shown(c.value) in c.choices
    assert not by_key
    assert {c.label for c in controls.run_controls()} == {"people", "seed", "crisis start"}


def test_a_package_then_a_lever_builds_a_model_with_both():
    """Choosing fusion sets its levers; moving one yields an override on top of the package."""
    settings = controls.Settings().with_package("fusion")
    assert settings.value("policy.integration_effort") == 0.3  # fusion.yaml
    settings = settings.with_value("policy.integration_effort", 0.4)
    overrides = settings.overrides()
    assert overrides[0] == "policy=fusion"
    assert "policy.integration_effort=0.4" in overrides
    assert not any(o.startswith("policy.fusion_mode") for o in overrides)  # from the package
    small = settings.with_value("model.people", 1000)
    run = LiveRun.build(small.overrides(), sample_size=300)
    policy = model_view.policy_of(run.model)
    package = ("fusion", "integrated", "outcomes")
    assert (policy.name, policy.fusion_mode, policy.evaluation) == package
    assert policy.integration_effort == 0.4
    assert policy == sim.load_config(["policy=fusion", "policy.integration_effort=0.4"]).policy
    assert model_view.population(run.model) == 1000
    assert run.overrides == tuple(small.overrides())

    # a lever moved back to the package's value is no override; another package starts afresh
    back = settings.with_value("policy.integration_effort", 0.3)
    assert not any(o.startswith("policy.integration_effort") for o in back.overrides())
    other = small.with_package("openness")
    assert other.value("policy.integration_effort") == 0.2  # baseline's, via openness.yaml
    assert other.value("model.people") == 1000  # run settings stay
    assert [o for o in other.overrides() if o.startswith("policy")] == ["policy=openness"]


def test_an_unset_sub_lever_follows_its_headline_lever():
    """Selects of sub-levers send text; "same as ..." means null, a number sets the lever."""
    optional = [c for c in controls.lever_controls("foundation") if c.kind == "optional"]
    assert {c.key for c in optional} == {f"policy.{name}" for name in PolicyParams.LEVER_PARENTS}
    for c in optional:
        name = c.key.removeprefix("policy.")
        settings = controls.Settings(package="foundation")  # sets platform_coverage=0.95
        unset = settings.with_value(c.key, c.parse(c.choices[0]))
        policy = sim.load_config(unset.overrides()).policy
        assert getattr(policy, name) is None
        assert policy.lever(name) == getattr(policy, PolicyParams.LEVER_PARENTS[name])
        number = next(ch for ch in c.choices[1:] if c.parse(ch) != c.value)
        chosen = settings.with_value(c.key, c.parse(number))
        assert f"{c.key}={number}" in chosen.overrides()
        assert getattr(sim.load_config(chosen.overrides()).policy, name) == float(number)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"extra": "model.people=10"}, "model.people = 10"),
        ({"extra": "model.peeple=3000"}, "model.peeple"),
        ({"extra": "policy.fusion_mode=fused"}, "policy.fusion_mode"),
        ({"extra": "'unclosed"}, "more settings"),
        ({"changed": {"policy.coverage": 1.5}}, "policy.coverage = 1.5"),
    ],
)
def test_a_bad_value_fails_with_one_line_naming_it(change, key):
    settings = dataclasses.replace(controls.Settings(), **change)
    with pytest.raises(ConfigError) as caught:
        LiveRun.build(settings.overrides())
    message = str(caught.value)
    assert key in message and "\n" not in message


# ----------------------------------------------------------------------------- network view
def test_network_sample_is_deterministic_bounded_and_independent_of_levers():
    a = run_of(2000, seed=4, sample_size=600)
    b = run_of(2000, seed=4, sample_size=600, coverage=1.0, embedding=1.0)
    c = run_of(2000, seed=5, sample_size=600)
    assert a.sample.people.size == 600
    np.testing.assert_array_equal(a.sample.people, b.sample.people)
    np.testing.assert_array_equal(a.sample.pos, b.sample.pos)  # same network, same picture
    assert not np.array_equal(a.sample.people, c.sample.people)
    assert np.all((a.sample.pos >= 0) & (a.sample.pos <= 1))
    assert run_of(1000, seed=1, sample_size=5000).sample.people.size == 1000
    # drawing the sample does not touch the model's random stream
    plain = PartyBuildingModel.from_config(sim.load_config(list(a.overrides)))
    for m in (a.model, plain):
        m.step()
    everyone = np.arange(2000)
    np.testing.assert_array_equal(
        model_view.person_values(a.model, everyone), model_view.person_values(plain, everyone)
    )


def test_coverage_and_embedding_change_the_picture():
    """With the same network, more coverage and embedding: fewer floating members, more
    dual-registered ones, and a different image."""
    low = run_of(4000, seed=2, sample_size=1000, coverage=0.0, embedding=0.0)
    high = run_of(4000, seed=2, sample_size=1000, coverage=1.0, embedding=1.0)
    for r in (low, high):
        r.model.step()
    ids = np.arange(model_view.population(low.model))  # everyone, not only the sample
    floating, dual = [], []
    for r in (low, high):
        member = model_view.is_member(r.model, ids)
        floating.append(int((member & (model_view.branch_kind_of_people(r.model, ids) < 0)).sum()))
        dual.append(int(model_view.dual_registered(r.model, ids).sum()))
    assert floating[1] < floating[0]
    assert dual[0] == 0 < dual[1]
    image = [NetworkPainter().render(r.model, r.sample) for r in (low, high)]
    assert image[0] != image[1]


# ----------------------------------------------------------------------------- architecture
#: What the explorer may read of a model outside app/model_view.py: Mesa's and the model's
#: public API.
PUBLIC = {"datacollector", "outcomes", "results", "running", "seed", "step", "steps"}


@pytest.mark.parametrize(
    "path", sorted(p for p in (REPO / "app").glob("*.py") if p.name != "model_view.py")
)
def test_only_model_view_reads_model_internals(path):
    """``model.<attr>`` (or ``run.model.<attr>``) outside model_view uses the public API only."""
    tree = ast.parse(path.read_text())
    reads = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inner = node.value
            named = isinstance(inner, ast.Name) and inner.id == "model"
            if named or (isinstance(inner, ast.Attribute) and inner.attr == "model"):
                reads.add(node.attr)
    assert reads <= PUBLIC, f"{path.name} reads model internals: {sorted(reads - PUBLIC)}"


# ----------------------------------------------------------------------------- page
def test_page_renders_steps_fast_and_applies_settings_on_reset():
    """One page (built once: 10,000 people): its controls and displays; Step updates both
    displays within half a second; a lever moved in the sidebar applies on Reset; a package
    chosen, then a lever adjusted, builds a run with both; a bad value shows one line."""
    box, rc = render_page()
    try:
        # controls and displays
        buttons = {tuple(b.children) for b in rc.find(v.Btn).widgets}
        assert {("Reset",), ("Step",), ("▶",)} <= buttons
        labels = {w.label for w in rc.find(v.Slider).widgets}
        assert {"people", "seed", "coverage", "embedding", "openness"} <= labels
        assert len(image_bytes(rc)) == 2  # network sample, outcome plots
        assert all(img.startswith(b"\x89PNG") for img in image_bytes(rc))
        for outcome in ("cohesion", "mobilization", "identification", "burden", "floating gap"):
            assert f"<td>{outcome}</td>" in html_text(rc)

        # stepping redraws both displays, within half a second at 10,000 people
        step = rc.find(v.Btn, children=["Step"]).widget
        assert week_of(rc) == 0
        before = image_bytes(rc)
        step.click()  # warm-up (first draw of the plots' background)
        wall, cpu = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.thread_time()
            step.click()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        assert week_of(rc) == 6
        after = image_bytes(rc)
        assert all(a != b for a, b in zip(before, after, strict=True))
        print(
            f"step + render at 10,000 people: median {statistics.median(wall) * 1000:.0f} ms "
            f"wall, {statistics.median(cpu) * 1000:.0f} ms CPU"
        )
        # CPU time of the handler's thread: what a step costs, whatever else runs on the machine
        assert statistics.median(cpu) < 0.5

        # a lever moved in the sidebar applies when the model is rebuilt
        reset = rc.find(v.Btn, children=["Reset"]).widget
        rc.find(v.Slider, label="coverage").widget.v_model = 1.0
        assert '<td>coverage</td><td class="num">0.500</td>' in html_text(rc)
        assert "policy.coverage=1" in html_text(rc)  # the line of what Reset builds
        reset.click()
        assert week_of(rc) == 0
        assert '<td>coverage</td><td class="num">1.000</td>' in html_text(rc)
        step.click()
        assert week_of(rc) == 1

        # a package, then a lever on top of it
        rc.find(v.Select, label="policy package").widget.v_model = "fusion"
        effort = rc.find(v.Slider, label="integration effort").widget
        assert effort.v_model == pytest.approx(0.3)  # fusion.yaml's value
        effort.v_model = 0.4
        reset.click()
        text = html_text(rc)
        assert '<td>package</td><td class="num">fusion</td>' in text
        assert '<td>fusion mode</td><td class="num">integrated</td>' in text
        assert '<td>integration effort</td><td class="num">0.400</td>' in text
        assert "policy=fusion" in status(rc) and "policy.integration_effort=0.4" in status(rc)
        assert '<td>coverage</td><td class="num">0.500</td>' in text  # fusion starts afresh
        assert errors_shown(rc) == []

        # a bad value: one line on the page, and the run goes on unchanged
        step.click()
        extra = rc.find(v.TextField, label="Hydra overrides, e.g. model.need_rate=0.05").widget
        extra.v_model = "model.people=10"
        extra.fire_event("keyup.enter", None)
        reset.click()
        (shown,) = errors_shown(rc)
        assert "model.people = 10: must be a whole number in [50, 5,000,000]" in shown
        assert "\n" not in shown
        assert week_of(rc) == 1  # the current run was kept
        extra.v_model = ""
        extra.fire_event("keyup.enter", None)
        reset.click()
        assert errors_shown(rc) == [] and week_of(rc) == 0
    finally:
        rc.close()


def test_reset_releases_the_run_it_replaces(monkeypatch):
    """Memory stays bounded across resets: the page keeps only the current run."""
    built = []
    build = LiveRun.build.__func__

    def recording(cls, *args, **kwargs):
        run = build(cls, *args, **kwargs)
        built.append(weakref.ref(run))
        return run

    monkeypatch.setattr(LiveRun, "build", classmethod(recording))
    box, rc = render_page()
    try:
        rc.find(v.Slider, label="people").widget.v_model = 1000
        step = rc.find(v.Btn, children=["Step"]).widget
        reset = rc.find(v.Btn, children=["Reset"]).widget
        for _ in range(3):
            step.click()
            reset.click()
        gc.collect()
        assert [ref() is not None for ref in built] == [False, False, False, True]
    finally:
        rc.close()


def test_a_dropped_model_is_freed():
    run = LiveRun.build(["model.people=500"], sample_size=100)
    ref = weakref.ref(run.model)
    del run
    gc.collect()
    assert ref() is None


def test_asset_versions_match_the_installed_solara():
    script = runpy.run_path(str(REPO / "scripts" / "install_assets.py"))
    versions = script["asset_versions"]()
    assert "requirejs" in versions and "font-awesome" in versions
    assert any(k.startswith("@widgetti/solara-vuetify") for k in versions)


def _rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.mark.slow  # 12 models of 20,000 people
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_repeated_resets_keep_memory_bounded():
    """12 resets at 20,000 people: the server's memory stays flat. Before the page freed each
    replaced run at once, every reset left about 18 MB behind here (about 90 MB at 100,000
    people), so the 9 resets after the warm-up grew it by about 160 MB."""
    box, rc = render_page()
    try:
        rc.find(v.Slider, label="people").widget.v_model = 20_000
        reset = rc.find(v.Btn, children=["Reset"]).widget
        step = rc.find(v.Btn, children=["Step"]).widget
        rss = []
        for _ in range(12):
            reset.click()
            step.click()
            rss.append(_rss_mb())
        assert "20,000 people" in status(rc)
        growth = max(rss[3:]) - rss[2]
        print(f"RSS after 3 resets {rss[2]:.0f} MB, most after 12 {max(rss):.0f} MB")
        assert growth < 40, f"memory grew by {growth:.0f} MB over 9 resets: {rss}"
    finally:
        rc.close()


# ----------------------------------------------------------------------------- sweep view
def test_sweep_view_opens_a_stored_experiment(tmp_path, monkeypatch):
    """The second tab lists the stored experiments, draws the chosen one's scenarios over time
    with CI bands and their paired differences from a reference, and redraws on a change."""
    from stored import store_experiment

    store_experiment(tmp_path, "tiny", [["policy=baseline"], ["policy=fusion"]], seeds=2)
    store_experiment(tmp_path, "other", [["policy=openness"]], seeds=2)
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    box, rc = render_page()
    try:
        tabs = [str(t.children[0]) for t in rc.find(v.Tab).widgets]
        assert tabs == ["Live model", "Sweep results"]
        assert not rc.find(v.Select, label="experiment").widgets  # built when first opened
        rc.find(v.Tabs).widget.v_model = 1
        chooser = rc.find(v.Select, label="experiment").widget
        assert chooser.items == ["other", "tiny"]
        chooser.v_model = "tiny"

        def plot() -> bytes:
            (png,) = image_bytes(rc, "sweep")
            return png

        first = plot()
        assert first.startswith(b"\x89PNG")
        caption = html_text(rc)
        assert "tiny: 2 scenarios, 2 seeds each, 300 people, 24 weeks" in caption
        assert rc.find(v.Select, label="reference").widget.v_model == "baseline"
        rc.find(v.Select, label="outcome").widget.v_model = "mobilization"
        assert plot() != first
        second = plot()
        rc.find(v.Select, label="reference").widget.v_model = "fusion"
        assert plot() != second
    finally:
        rc.close()


def test_sweep_series_levels_and_paired_differences(tmp_path, monkeypatch):
    from stored import store_experiment

    from app import sweep
    from experiments.provenance import ExperimentRecord

    store_experiment(tmp_path, "tiny", [["policy=baseline"], ["policy=fusion"]], seeds=3)
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    record = ExperimentRecord.read("tiny")
    assert "cohesion" in sweep.outcomes(record) and "seed" not in sweep.outcomes(record)
    diff = sweep.difference_series(record, "cohesion", "baseline", ["baseline", "fusion"])
    assert set(diff["scenario"]) == {"fusion"}  # the reference against itself is not drawn
    runs = record.runs.pivot_table(index=["seed", "step"], columns="scenario", values="cohesion")
    by_step = (runs["fusion"] - runs["baseline"]).groupby("step").mean()
    assert np.allclose(diff.set_index("step")["mean"].sort_index(), by_step.sort_index())
    assert (diff["count"] == 3).all() and (diff["ci_low"] <= diff["ci_high"]).all()
    levels = sweep.level_series(record, "cohesion", ["fusion"])
    assert set(levels["scenario"]) == {"fusion"}
    with pytest.raises(ValueError, match="reference = 'nope'"):
        sweep.difference_series(record, "cohesion", "nope", ["fusion"])
