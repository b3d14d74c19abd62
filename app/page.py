"""The explorer's page: a sidebar of settings and run buttons, and the live run's displays.

Layout: the app bar; the sidebar with Reset, play/pause and Step, the line of overrides the
next Reset builds, any config error, then the settings (:mod:`app.controls`); the main area
with the run's status and config, the network sample (:mod:`app.network_view`), the outcome
plots (:mod:`app.plots`) and the tables of outcomes now and levers of the run.

The page does not wrap Mesa's ``SolaraViz``: its parameter controls keep the values they had at
the first render (they cannot start from a chosen package's values), and its Reset builds the
model inside the button's handler, where a bad setting could only end in a traceback. Here
Reset composes the settings with :func:`sim.load_config` and shows a rejected value's one-line
message instead, keeping the current run. Steps redraw through Mesa's ``update_counter`` as in
SolaraViz, so Mesa's own components can be added to the main area.

Each session holds one run and one painter per figure (made on first use, reused across
resets), so the page itself keeps nothing of the runs a Reset replaced. :func:`LiveModel` is
the whole live-model view (its sidebar and main area); another page, such as a view of a
sweep's results, is a second component of the same kind, reached by turning :func:`Page` into
tabs or solara routes.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import time
import typing
from typing import Any

import solara
import solara.lab
from mesa.visualization.utils import force_update, update_counter

from app import model_view
from app.controls import Settings, SettingsPanel
from app.live import LiveRun, release_memory
from app.network_view import NetworkPainter, legend_html
from app.plots import OutcomePainter
from app.sweep import SweepView
from sim.params import ConfigError, PolicyParams

TITLE = "Grassroots party building: explorer"
#: The session's live run (None until the first is built). Components take this container, not
#: the run: reacton keeps the arguments a component instance was first made with, which would
#: pin the first run in memory for the whole session.
Run = solara.Reactive[LiveRun | None]
#: Seconds between weeks while playing.
PLAY_INTERVAL = 0.1
#: Seconds after a session ends before its run's memory is released (its objects are dropped
#: once the session's widgets are closed).
SESSION_END_DELAY = 5.0

TABLE_CSS = """
.explorer-table { border-collapse: collapse; font-size: 13px; width: 100%; }
.explorer-table th { text-align: left; border-bottom: 1px solid #999; padding: 2px 8px; }
.explorer-table td { border-bottom: 1px solid #e0e0e0; padding: 2px 8px; vertical-align: top; }
.explorer-table td.num { text-align: right; font-variant-numeric: tabular-nums;
                         white-space: nowrap; }
"""


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() and abs(v) > 1 else f"{v:.3f}"
    return str(v)


def _lever_value(policy: PolicyParams, name: str) -> str:
    value = getattr(policy, name)
    if value is None:
        parent = policy.LEVER_PARENTS.get(name)
        if parent is None:
            return "unset"
        return f"{_fmt(policy.lever(name))} (= {parent})"
    return _fmt(value)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], numeric: int = 1) -> str:
    """A small HTML table (plain HTML: solara's Markdown pulls mermaid from a CDN)."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            (f'<td class="num">{esc(c)}</td>' if i == numeric else f"<td>{esc(c)}</td>")
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<table class="explorer-table"><tr>{head}</tr>{body}</table>'


def lever_rows(policy: PolicyParams) -> list[tuple[str, str, str]]:
    """(lever, value in this run, meaning) of every field of the run's policy, package first."""
    return [
        (
            "package" if f.name == "name" else f.name.replace("_", " "),
            _lever_value(policy, f.name),
            f.metadata.get("doc", ""),
        )
        for f in dataclasses.fields(policy)
    ]


@solara.component
def NetworkView(run: Run):
    """The network sample, redrawn when the model steps or is rebuilt."""
    update_counter.get()
    live = run.value
    painter = solara.use_memo(NetworkPainter, [])
    png = solara.use_memo(
        lambda: painter.render(live.model, live.sample), dependencies=[live, live.model.steps]
    )
    solara.Image(png, width="100%", classes=["network-view"])
    solara.HTML(tag="div", unsafe_innerHTML=legend_html())


@solara.component
def OutcomePlots(run: Run):
    """Cohesion, identification, burden, floating gap and mobilization over the weeks."""
    update_counter.get()
    live = run.value
    painter = solara.use_memo(OutcomePainter, [])
    png = solara.use_memo(lambda: painter.render(live.model), dependencies=[live, live.model.steps])
    solara.Image(png, width="100%", classes=["outcome-plots"])


@solara.component
def OutcomeTable(run: Run):
    """Current outcomes and the levers of the running model, as text."""
    update_counter.get()
    model = run.value.model
    outcomes = [(k.replace("_", " "), _fmt(float(v))) for k, v in model.outcomes().items()]
    levers = lever_rows(model_view.policy_of(model))
    with solara.Columns([1, 2]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=_table(("outcome", "now"), outcomes),
            classes=["outcome-table"],
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=_table(("lever", "this run", "meaning"), levers),
            classes=["lever-table"],
        )


@solara.component
def MainArea(run: Run):
    """Status line and config of the run, network sample and outcome plots, then the tables."""
    update_counter.get()
    model = run.value.model
    with solara.Column(style={"padding": "0 12px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<b class="explorer-status">Week {model.steps}</b> · '
                f"{model_view.population(model):,} people · seed {model.seed}. Settings apply "
                "when the model is rebuilt: set them in the sidebar, press <b>Reset</b>, then "
                "<b>Step</b> or ▶.<br>This run's config: "
                f'<code class="explorer-config">{html.escape(" ".join(run.value.overrides))}</code>'
            ),
            style={"font-size": "15px", "padding": "8px 0 0 0"},
        )
        with solara.Columns([1, 1]):
            with solara.Card("Network sample", margin=0):
                NetworkView(run)
            with solara.Card("Outcomes over time", margin=0):
                OutcomePlots(run)
        with solara.Card("Outcomes now and levers of this run", margin=0):
            OutcomeTable(run)


@solara.component
def RunControls(run: Run, settings: solara.Reactive[Settings]):
    """Reset (build a run from the settings), play/pause and Step; a rejected setting's error."""
    playing = solara.use_reactive(False)
    error = solara.use_reactive("")
    ready = run.value is not None
    # one week at a time: a pause or Reset waits for the week under way, so none follows it
    stepping = solara.use_memo(threading.Lock, [])

    def step() -> None:
        with stepping:
            run.value.model.step()
            force_update()

    def play() -> None:
        while True:
            time.sleep(PLAY_INTERVAL)
            if not playing.value:
                return
            step()

    def pause_or_play() -> None:
        with stepping:
            playing.set(not playing.value)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    def reset() -> None:
        with stepping:
            playing.set(False)
        try:
            fresh = LiveRun.build(settings.value.overrides())
        except ConfigError as exc:
            error.set(str(exc))
            return
        error.set("")
        run.set(fresh)
        release_memory()  # the replaced run is garbage now: free it at once

    with solara.Row(justify="space-between"):
        solara.Button(label="Reset", color="primary", on_click=reset)
        solara.Button(
            label="❚❚" if playing.value else "▶",
            color="primary",
            on_click=pause_or_play,
            disabled=not ready,
        )
        solara.Button(
            label="Step", color="primary", on_click=step, disabled=playing.value or not ready
        )
    if error.value:
        solara.Error(f"Not applied: {error.value}", classes=["config-error"])
    try:
        upcoming = " ".join(settings.value.overrides())
    except ConfigError as exc:
        upcoming = str(exc)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f"Reset builds: <code>{html.escape(upcoming)}</code>",
        classes=["next-config"],
        style={"font-size": "12px", "padding-top": "6px"},
    )


@solara.component
def LiveModel():
    """The live-model view: its settings and run buttons in the sidebar, the run in the main
    area. The first run uses the settings' starting values."""
    settings = solara.use_reactive(Settings())
    # No run until mounted: a reactive keeps its initial value for good, so the first run is
    # set afterwards, and a Reset releases the run it replaces.
    run: Run = solara.use_reactive(typing.cast(LiveRun | None, None))

    def first_run():
        run.set(LiveRun.build(settings.value.overrides()))
        # when the session ends (tab closed), free its run soon after its objects are dropped
        return lambda: threading.Timer(SESSION_END_DELAY, release_memory).start()

    solara.use_effect(first_run, [])
    with solara.Sidebar(), solara.Column():
        with solara.Card("Run", margin=0):
            RunControls(run, settings)
        SettingsPanel(settings)
    if run.value is None:
        solara.Text("Building the model ...")
    else:
        MainArea(run)


@solara.component
def Page():
    """The explorer page (``solara run app.py`` renders it inside solara's AppLayout): the live
    model in one tab, a stored sweep's results in the other (the live run's controls stay in
    the sidebar, so the two can be compared)."""
    solara.Style(TABLE_CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
        solara.lab.ThemeToggle()
    tab = solara.use_reactive(0)
    opened = solara.use_reactive(False)  # the sweep view is built when first opened

    def choose(index: int) -> None:
        tab.set(index)
        if index == 1:
            opened.set(True)

    # Tab headers only (contents given to solara.lab.Tabs render inside the tab bar with this
    # front end): both views stay mounted below and are shown or hidden, so the live run goes
    # on while a sweep is looked at. Plain divs: a Column's d-flex class overrides display: none.
    with solara.lab.Tabs(value=tab.value, on_value=choose):
        solara.lab.Tab("Live model")
        solara.lab.Tab("Sweep results")
    with solara.Div(style={} if tab.value == 0 else {"display": "none"}):
        LiveModel()
    if opened.value:
        with solara.Div(style={} if tab.value == 1 else {"display": "none"}):
            SweepView()
