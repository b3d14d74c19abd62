"""Interactive explorer: a Mesa SolaraViz page over the party-building model.

Open it with ``make app`` (which puts the page's front-end files in place, then runs
``solara run app.py --host 127.0.0.1 --port 8765 --production``) and browse to
http://127.0.0.1:8765. Mesa's SolaraViz supplies the sidebar: Reset, play/pause and Step, and
a control for every policy lever, generated from the fields of :class:`sim.params.PolicyParams`
and their documented ranges (a lever added there appears here with no change to this file),
plus population size, seed and the week of the crisis call. Levers take effect when the model
is rebuilt: press **Reset**, then **Step** or play. The main area shows

* a sample of the network (at most 2,000 people of one or more residential communities, drawn
  by seed), grouped by the sector people worked in at the start: face colour = identification
  (masses) or commitment (members); circles are masses, ringed in black when a member's
  service reached them this week; members are triangles, diamonds when dual-registered in their
  community, red crosses when floating, outlined in the colour of their branch's kind; lines
  are the sample's ties, coloured by layer; the key is under the picture;
* live plots of cohesion and identification, burden and the floating gap, and mobilization,
  read from the model's ``DataCollector``;
* the current outcomes and the levers of the running model.

Speed (DESIGN: a step of the page under half a second at 10,000 people): the network layout is
computed once per network (a vectorised Fruchterman-Reingold on the sample only) and cached, so
a Reset with other levers keeps the same picture and only colours and markers move; both
figures are kept per model and redrawn by blitting (a cached background, then only the people
or the lines), and sent as PNGs. ``tests/test_app.py`` measures a step plus the re-render.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import solara  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from sim.model import PartyBuildingModel  # noqa: E402
from sim.params import ModelParams, PolicyParams  # noqa: E402

#: Most people drawn in the network view.
SAMPLE_SIZE = 2000
#: Model parameters offered besides population and seed, with the explorer's default (the call
#: comes after one year instead of three so that mobilization shows up without a long wait).
MODEL_CONTROLS: dict[str, Any] = {"crisis_start": 52}
#: Slider ranges (lo, hi, step) for model controls whose documented range is too wide to slide.
MODEL_RANGES: dict[str, tuple[int, int, int]] = {"crisis_start": (-1, 260, 1)}
#: Population slider range.
PEOPLE_RANGE = (1_000, 100_000, 1_000)
SEED_RANGE = (0, 99)

# branch kinds as in sim.state (unit, joint, platform, community, online); -1 = floating
BRANCH_LABELS = ("unit", "joint", "platform", "community", "online")
# sectors as in sim.state (state, enterprise, platform, none)
SECTOR_LABELS = ("state", "enterprise", "platform", "no work unit")
BRANCH_COLOURS = ("#222222", "#8c564b", "#ff7f0e", "#1f77b4", "#e377c2")
FLOATING_COLOUR = "#d62728"
LAYER_COLOURS = {"work": "#4c72b0", "residence": "#55a868", "online": "#c44e52"}
CMAP = "viridis"


# --------------------------------------------------------------------------- controls
@dataclass(frozen=True)
class Control:
    """One user input, derived from a parameter dataclass field."""

    name: str
    kind: str  # "float", "int", "bool" or "choice"
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    def user_param(self) -> dict[str, Any]:
        """The SolaraViz ``model_params`` entry for this control."""
        label = self.name.replace("_", " ")
        if self.kind == "bool":
            return {"type": "Checkbox", "value": self.default, "label": label}
        if self.kind == "choice":
            return {
                "type": "Select",
                "value": self.default,
                "values": list(self.choices),
                "label": label,
            }
        kind = "SliderFloat" if self.kind == "float" else "SliderInt"
        return {
            "type": kind,
            "value": self.default,
            "min": self.lo,
            "max": self.hi,
            "step": self.step,
            "label": label,
        }


def _field_type(tp: Any) -> tuple[type, bool]:
    """(underlying type, whether None is allowed) of an annotation such as ``float | None``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return (typing.get_origin(args[0]) or args[0]), True
    return (typing.get_origin(tp) or tp), False


def _unset_label(cls: type, name: str) -> str:
    """The choice that leaves a nullable parameter unset (it then follows its parent lever)."""
    parent = getattr(cls, "LEVER_PARENTS", {}).get(name)
    return f"same as {parent}" if parent else "unset"


def controls_of(
    cls: type, names: typing.Iterable[str] | None = None, defaults: dict[str, Any] | None = None
) -> list[Control]:
    """Controls for the fields of a parameter dataclass (all fields, or those named).

    Numbers get a slider over the field's documented range (100 steps for a float; a missing
    bound is taken from the default), booleans a checkbox, strings with allowed values a select;
    a number that may be left unset (``None``, e.g. a sub-lever that then follows its headline
    lever) gets a select of "unset" and eleven values across its range. Free strings and nested
    dataclasses are skipped.
    """
    hints = typing.get_type_hints(cls)
    defaults = defaults or {}
    wanted = None if names is None else list(names)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for name in wanted if wanted is not None else list(fields):
        f = fields[name]
        tp, nullable = _field_type(hints[name])
        meta = f.metadata
        default = defaults.get(name, f.default)
        if default is dataclasses.MISSING:
            continue
        doc = meta.get("doc", "")
        if tp is bool:
            out.append(Control(name, "bool", bool(default), doc))
        elif tp is str:
            if meta.get("choices"):
                out.append(Control(name, "choice", default, doc, choices=tuple(meta["choices"])))
        elif tp in (int, float):
            lo, hi = meta.get("lo"), meta.get("hi")
            ref = 0 if default is None else default
            lo = min(0, ref) if lo is None else lo
            hi = max(1, 2 * abs(ref)) if hi is None else hi
            if nullable:
                grid = [lo + (hi - lo) * i / 10 for i in range(11)]
                if meta.get("lo_open"):
                    grid = grid[1:]
                values = [f"{int(round(v))}" if tp is int else f"{v:g}" for v in grid]
                unset = _unset_label(cls, name)
                current = (
                    unset
                    if default is None
                    else (f"{int(default)}" if tp is int else f"{default:g}")
                )
                if current not in values and current != unset:
                    values.append(current)
                out.append(Control(name, "choice", current, doc, choices=(unset, *values)))
            elif tp is float:
                step = (hi - lo) / 100
                lo = lo + step if meta.get("lo_open") else lo
                out.append(
                    Control(name, "float", float(default), doc, float(lo), float(hi), float(step))
                )
            else:
                step = max(1, int((hi - lo) // 200))
                lo = lo + 1 if meta.get("lo_open") else lo
                out.append(Control(name, "int", int(default), doc, int(lo), int(hi), step))
    return out


def lever_controls() -> list[Control]:
    """A control for every policy lever of :class:`PolicyParams` (read at call time)."""
    return controls_of(PolicyParams)


def model_controls() -> list[Control]:
    """The model parameters offered on the page besides population and seed."""
    out = []
    for c in controls_of(ModelParams, MODEL_CONTROLS, MODEL_CONTROLS):
        if c.name in MODEL_RANGES:
            lo, hi, step = MODEL_RANGES[c.name]
            c = dataclasses.replace(c, lo=lo, hi=hi, step=step)
        out.append(c)
    return out


def model_params() -> dict[str, Any]:
    """SolaraViz ``model_params``: population, seed, the model controls and every lever."""
    lo, hi, step = PEOPLE_RANGE
    params: dict[str, Any] = {
        "people": {
            "type": "SliderInt",
            "value": ModelParams().people,
            "min": lo,
            "max": hi,
            "step": step,
            "label": "people",
        },
        "seed": {
            "type": "SliderInt",
            "value": 0,
            "min": SEED_RANGE[0],
            "max": SEED_RANGE[1],
            "step": 1,
            "label": "seed",
        },
    }
    for c in model_controls() + lever_controls():
        params[c.name] = c.user_param()
    return params


# --------------------------------------------------------------------------- model wrapper
def build_params(people: int, settings: dict[str, Any]) -> tuple[ModelParams, PolicyParams]:
    """Validated ModelParams and PolicyParams from keyword settings (unknown keys are errors)."""
    policy_fields = {f.name for f in dataclasses.fields(PolicyParams)}
    model_fields = {f.name for f in dataclasses.fields(ModelParams)}
    model_kw: dict[str, Any] = {**MODEL_CONTROLS, "people": int(people)}
    policy_kw: dict[str, Any] = {}
    model_hints = typing.get_type_hints(ModelParams)
    policy_hints = typing.get_type_hints(PolicyParams)
    for key, value in settings.items():
        if key in policy_fields:
            policy_kw[key] = _coerce(value, *_field_type(policy_hints[key]))
        elif key in model_fields:
            model_kw[key] = _coerce(value, *_field_type(model_hints[key]))
        else:
            raise ValueError(
                f"{key}: not a model parameter or policy lever; levers: "
                f"{', '.join(sorted(policy_fields))}"
            )
    return ModelParams(**model_kw), PolicyParams(**policy_kw)


def _coerce(value: Any, tp: type, nullable: bool = False) -> Any:
    """Give the dataclass the type it checks for: sliders send int or float, selects send text
    (a number, or the "unset" choice of a parameter that may be None)."""
    if isinstance(value, str) and tp in (int, float):
        try:
            number = float(value)
        except ValueError:
            if nullable:
                return None
            raise
        return int(number) if tp is int and number.is_integer() else number
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ExplorerModel(PartyBuildingModel):
    """The model as SolaraViz builds it: keyword arguments only, validated by the dataclasses.

    Args:
        people: population size.
        seed: root seed.
        sample_size: most people in the network view.
        scenario: ignored (SolaraViz passes Mesa's default scenario object on reset).
        **settings: any policy lever or model parameter by name.
    """

    def __init__(
        self,
        people: int = 10_000,
        seed: int = 0,
        sample_size: int = SAMPLE_SIZE,
        scenario: Any = None,
        **settings: Any,
    ) -> None:
        params, policy = build_params(people, settings)
        super().__init__(params, policy, rng=int(seed))
        self.sample = NetworkSample.draw(self, sample_size)


# --------------------------------------------------------------------------- network sample
_LAYOUT_CACHE: dict[str, np.ndarray] = {}


@dataclass
class NetworkSample:
    """A deterministic sample of people with a fixed layout for the network view.

    Whole residential communities are taken in a seeded order until ``size`` people are
    drawn (the last community only in part, by a seeded permutation), so that the sample keeps
    neighbourhood ties and part of the work and online ties. The layout pulls each person
    towards the anchor of their sector at the start (state, enterprise, platform, none), so the
    four sectors sit in four lobes joined by the ties between them.
    """

    people: np.ndarray  # person ids, sorted
    pos: np.ndarray  # (n, 2) layout
    groups: np.ndarray  # sector of each sampled person when the model was built

    @classmethod
    def draw(cls, model: PartyBuildingModel, size: int = SAMPLE_SIZE) -> NetworkSample:
        n = model.people.n
        rng = np.random.default_rng([int(model.seed), 20_250_605])  # never the model's rng
        community = np.asarray(model.people.community)
        order = rng.permutation(int(community.max()) + 1)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        # people by their community's rank, then by a random key inside it
        people = np.lexsort((rng.random(n), rank[community]))[: min(size, n)]
        people = np.sort(people)
        rows, cols = _sample_edges(model, people)
        groups = np.asarray(model.people.sector)[people].astype(np.int64)
        return cls(people, _cached_layout(rows, cols, groups, int(model.seed)), groups)

    def edges(self, model: PartyBuildingModel) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Edges (i < j, sample positions) of each layer as they are now."""
        return {k: _upper(layer, self.people) for k, layer in model.network.layers.items()}


def _upper(layer: sp.csr_array, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sub = sp.csr_array(layer[people][:, people]).tocoo()
    keep = sub.row < sub.col
    return sub.row[keep], sub.col[keep]


def _sample_edges(model: PartyBuildingModel, people: np.ndarray) -> tuple[np.ndarray, ...]:
    union = sum(sp.csr_array(layer[people][:, people]) for layer in model.network.layers.values())
    coo = sp.csr_array(union).tocoo()
    keep = coo.row != coo.col
    return coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)


def _cached_layout(rows: np.ndarray, cols: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """The layout of a sample graph, computed once per graph (a Reset with other levers keeps
    the same network, hence the same picture)."""
    h = hashlib.sha1(np.asarray([groups.size, seed], np.int64).tobytes())
    for a in (rows, cols, groups):
        h.update(np.ascontiguousarray(a).tobytes())
    key = h.hexdigest()
    if key not in _LAYOUT_CACHE:
        if len(_LAYOUT_CACHE) >= 16:
            _LAYOUT_CACHE.pop(next(iter(_LAYOUT_CACHE)))
        _LAYOUT_CACHE[key] = force_layout(groups.size, rows, cols, seed, groups)
    return _LAYOUT_CACHE[key]


def force_layout(
    n: int,
    rows: np.ndarray,
    cols: np.ndarray,
    seed: int = 0,
    groups: np.ndarray | None = None,
    iterations: int = 60,
    gravity: float = 1.5,
) -> np.ndarray:
    """Fruchterman-Reingold layout, vectorised over all pairs (fine up to a few thousand nodes).

    ``rows, cols`` hold each undirected edge in both directions. Each person is pulled towards
    the anchor of their group (anchors evenly on a circle; one anchor at the centre when no
    groups are given), which keeps isolated people near the rest and separates the groups.
    Returns positions in the unit square.
    """
    rng = np.random.default_rng(seed)
    groups = np.zeros(n, np.int64) if groups is None else np.asarray(groups, np.int64)
    n_groups = int(groups.max()) + 1 if n else 1
    angle = np.pi * (0.75 - 2 * np.arange(n_groups) / n_groups)
    radius = 0.0 if n_groups == 1 else 0.32
    anchors = (0.5 + radius * np.column_stack([np.cos(angle), np.sin(angle)])).astype(np.float32)
    pos = (anchors[groups] + 0.1 * rng.standard_normal((n, 2))).astype(np.float32)
    if n < 2:
        return pos
    ax_, ay_ = anchors[groups, 0], anchors[groups, 1]
    k = np.float32(1.0 / np.sqrt(n))
    k2 = k * k
    temp = 0.1
    cool = temp / (iterations + 1)
    for _ in range(iterations):
        x, y = pos[:, 0], pos[:, 1]
        dx = x[:, None] - x[None, :]
        dy = y[:, None] - y[None, :]
        d2 = dx * dx
        d2 += dy * dy
        np.maximum(d2, np.float32(1e-6), out=d2)
        np.divide(k2, d2, out=d2)  # repulsion k^2 / d along the unit vector: d * k^2 / d^2
        fx = (dx * d2).sum(axis=1)
        fy = (dy * d2).sum(axis=1)
        ex = x[rows] - x[cols]
        ey = y[rows] - y[cols]
        de = np.sqrt(ex * ex + ey * ey) / k  # attraction d^2 / k along the unit vector
        fx -= np.bincount(rows, ex * de, minlength=n)
        fy -= np.bincount(rows, ey * de, minlength=n)
        fx -= gravity * (x - ax_) / k
        fy -= gravity * (y - ay_) / k
        length = np.maximum(np.hypot(fx, fy), 1e-9)
        scale = np.minimum(length, temp) / length
        pos[:, 0] += fx * scale
        pos[:, 1] += fy * scale
        temp -= cool
    pos -= pos.min(axis=0)
    pos /= max(float(pos.max()), 1e-9)
    return pos


def group_centres(pos: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Median position of each group (where its label goes)."""
    return np.array(
        [
            np.median(pos[groups == g], axis=0) if np.any(groups == g) else [np.nan] * 2
            for g in range(int(groups.max()) + 1)
        ]
    )


# --------------------------------------------------------------------------- drawing
def _png(canvas: FigureCanvasAgg, palette: bool = False) -> bytes:
    """The canvas as a PNG, made fast: the page sends one every step.

    ``palette`` quantises to 256 colours first (a fast octree), which makes the network's PNG
    (thousands of translucent ties) about a quarter of the size at no visible loss.
    """
    buf = io.BytesIO()
    image = PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    if palette:
        image = image.quantize(256, method=PIL.Image.Quantize.FASTOCTREE)
    image.save(buf, format="png", compress_level=3)
    return buf.getvalue()


class NetworkPainter:
    """Draws a model's network sample; redraws only the people on a cached background.

    The ties and the colour bar are rendered once (again only if the sample's ties change);
    each frame restores that background and draws the people (blitting), so a frame costs a
    few milliseconds of drawing plus the PNG encoding.
    """

    SIZE = (4.8, 4.4)  # inches; at DPI 576 x 528 pixels, shown at the card's width
    DPI = 120

    def __init__(self) -> None:
        self.fig = Figure(figsize=self.SIZE, dpi=self.DPI)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((0.0, 0.13, 1.0, 0.81))
        self.ax.set_axis_off()
        self.ax.set_xlim(-0.02, 1.02)
        self.ax.set_ylim(-0.02, 1.02)
        self.ties: list[LineCollection] = []
        self.labels: list[Any] = []
        self.signature = ""
        self.background = None
        self.lock = threading.Lock()
        # the people: masses (plain / served), members (in a branch / dual-registered / floating)
        style = dict(c=np.empty(0), cmap=CMAP, vmin=0.0, vmax=1.0, animated=True)
        empty = np.empty((0, 2))
        self.groups = {
            "mass": self.ax.scatter(
                *empty.T, s=9, marker="o", edgecolors="none", linewidths=0, zorder=2, **style
            ),
            "served": self.ax.scatter(
                *empty.T, s=11, marker="o", edgecolors="black", linewidths=0.7, zorder=2, **style
            ),
            "member": self.ax.scatter(
                *empty.T, s=46, marker="^", linewidths=1.4, zorder=3, **style
            ),
            "dual": self.ax.scatter(*empty.T, s=34, marker="D", linewidths=1.4, zorder=3, **style),
            "floating": self.ax.scatter(
                *empty.T,
                s=60,
                marker="X",
                edgecolors=FLOATING_COLOUR,
                linewidths=1.2,
                zorder=4,
                **style,
            ),
        }
        self.title = self.ax.text(
            0.01,
            0.995,
            "",
            transform=self.fig.transFigure,
            ha="left",
            va="top",
            fontsize=10,
            animated=True,
        )
        cax = self.fig.add_axes((0.42, 0.075, 0.45, 0.025))
        cbar = self.fig.colorbar(self.groups["mass"], cax=cax, orientation="horizontal")
        cbar.ax.tick_params(labelsize=8)
        cbar.ax.set_title("identification (masses), commitment (members)", fontsize=8, loc="left")

    def _set_ties(self, sample: NetworkSample, edges: dict[str, tuple[np.ndarray, ...]]) -> None:
        for artist in self.ties + self.labels:
            artist.remove()
        self.ties = []
        self.labels = [
            self.ax.text(
                cx,
                cy,
                SECTOR_LABELS[g],
                ha="center",
                va="center",
                fontsize=10,
                color="black",
                weight="bold",
                animated=True,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.7),
            )
            for g, (cx, cy) in enumerate(group_centres(sample.pos, sample.groups))
            if np.isfinite(cx) and g < len(SECTOR_LABELS)
        ]
        for layer, (r, c) in edges.items():
            segs = np.stack([sample.pos[r], sample.pos[c]], axis=1)
            coll = LineCollection(
                segs,
                colors=LAYER_COLOURS.get(layer, "#999999"),
                linewidths=0.3,
                alpha=0.14,
                zorder=1,
            )
            self.ax.add_collection(coll, autolim=False)
            self.ties.append(coll)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def render(self, model: ExplorerModel) -> bytes:
        """A PNG of the sample as it is now."""
        with self.lock:
            s = model.sample
            edges = s.edges(model)
            h = hashlib.sha1()
            for r, c in edges.values():
                h.update(r.tobytes())
                h.update(c.tobytes())
            if h.hexdigest() != self.signature or self.background is None:
                self._set_ties(s, edges)
                self.signature = h.hexdigest()
            ids = s.people
            people = model.people
            n = people.n
            x = people.x[ids]
            member = people.member[ids]
            branch = people.home_branch[ids]
            kinds = model.branches.kind
            kind = np.where(branch >= 0, kinds[np.maximum(branch, 0)], -1)
            dual = people.dual_registered[ids]
            reached = people.reached[ids]
            outline = np.array(BRANCH_COLOURS)
            masks = {
                "mass": ~member & ~reached,
                "served": ~member & reached,
                "member": member & (kind >= 0) & ~dual,
                "dual": member & (kind >= 0) & dual,
                "floating": member & (kind < 0),
            }
            self.canvas.restore_region(self.background)
            for name, mask in masks.items():
                coll = self.groups[name]
                coll.set_offsets(s.pos[mask])
                coll.set_array(x[mask])
                if name in ("member", "dual"):
                    coll.set_edgecolors(outline[kind[mask]])
                self.ax.draw_artist(coll)
            self.title.set_text(f"{ids.size:,} of {n:,} people · week {_week(model)}")
            self.fig.draw_artist(self.title)
            for label in self.labels:
                self.ax.draw_artist(label)
            self.canvas.blit(self.fig.bbox)
            return _png(self.canvas, palette=True)


#: Outcome panels: (title, {outcome: colour}).
PANELS = (
    ("Cohesion and identification", {"cohesion": "#1b9e77", "identification": "#7570b3"}),
    ("Burden and floating gap", {"burden": "#d95f02", "floating_gap": "#e7298a"}),
    ("Mobilization (share of people active)", {"mobilization": "#66a61e"}),
)


class OutcomePainter:
    """Live plots of the outcomes recorded by the model's DataCollector (one figure, blitted).

    The time axis spans a year and doubles whenever the run goes past it; only then is the
    background (axes, ticks, legends) drawn again. Each frame draws just the lines.
    """

    SIZE = (4.8, 4.4)
    DPI = 120
    HORIZON = 52

    def __init__(self) -> None:
        self.fig = Figure(figsize=self.SIZE, dpi=self.DPI, layout="constrained")
        self.canvas = FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(len(PANELS), 1, sharex=True)
        self.lines: dict[str, Line2D] = {}
        for ax, (title, measures) in zip(self.axes, PANELS, strict=True):
            ax.set_title(title, fontsize=10, loc="left")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            for name, colour in measures.items():
                (self.lines[name],) = ax.plot(
                    [], [], color=colour, lw=1.6, animated=True, label=name.replace("_", " ")
                )
            ax.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)
        self.axes[-1].set_xlabel("week", fontsize=9)
        self.axes[-1].set_xlim(0, self.HORIZON)
        self.canvas.draw()  # fixes the constrained layout once
        self.fig.set_layout_engine("none")
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.lock = threading.Lock()

    def render(self, model: ExplorerModel) -> bytes:
        """A PNG of every recorded step so far."""
        with self.lock:
            frame = model.datacollector.get_model_vars_dataframe()
            right = self.axes[-1].get_xlim()[1]
            if len(frame) > right:
                while len(frame) > right:
                    right *= 2
                self.axes[-1].set_xlim(0, right)
                self.canvas.draw()
                self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.canvas.restore_region(self.background)
            weeks = np.arange(1, len(frame) + 1)
            for name, line in self.lines.items():
                values = frame[name].to_numpy(float) if name in frame else np.empty(0)
                line.set_data(weeks[: values.size], values)
                line.axes.draw_artist(line)
            self.canvas.blit(self.fig.bbox)
            return _png(self.canvas)


def _week(model: PartyBuildingModel) -> int:
    return int(getattr(model, "week", model.steps))


def _painter(model: ExplorerModel, attr: str, cls: type) -> Any:
    """The model's painter of a kind, made on first use (one per model, so per session)."""
    painter = model.__dict__.get(attr)
    if painter is None:
        painter = cls()
        setattr(model, attr, painter)
    return painter


def _legend_html() -> str:
    """The network view's key, as HTML under the image (readable at any width)."""

    def sym(glyph: str, colour: str = "#8a8a8a", style: str = "") -> str:
        return f'<span style="color:{colour};font-size:14px;{style}">{glyph}</span>'

    def dot(border: str) -> str:
        return (
            '<span style="display:inline-block;width:9px;height:9px;border-radius:50%;'
            f'background:#8a8a8a;border:{border};vertical-align:middle"></span>'
        )

    def box(colour: str) -> str:
        return (
            '<span style="display:inline-block;width:9px;height:9px;'
            f'border:2px solid {colour};vertical-align:middle"></span>'
        )

    def line(colour: str) -> str:
        return (
            '<span style="display:inline-block;width:16px;'
            f'border-top:2px solid {colour};vertical-align:middle"></span>'
        )

    people = [
        (dot("none"), "mass"),
        (dot("1.5px solid #000"), "mass served this week"),
        (sym("▲"), "member"),
        (sym("◆"), "member, dual-registered"),
        (sym("✖", FLOATING_COLOUR), "member, floating (no branch)"),
    ]
    branches = [(box(c), n) for n, c in zip(BRANCH_LABELS, BRANCH_COLOURS, strict=True)]
    ties = [(line(c), n) for n, c in LAYER_COLOURS.items()]

    def row(title: str, items: list[tuple[str, str]]) -> str:
        cells = " ".join(
            f'<span style="white-space:nowrap;margin-right:10px">{s} {html.escape(t)}</span>'
            for s, t in items
        )
        return f"<div><b>{title}</b> {cells}</div>"

    return (
        '<div class="network-legend" style="font-size:13px;line-height:1.6">'
        + row("People:", people)
        + row("Member outline = branch:", branches)
        + row("Ties:", ties)
        + "<div>Face colour: identification of masses, commitment of members "
        "(scale under the picture). People are grouped by the sector they worked in "
        "when the run began.</div></div>"
    )


@solara.component
def NetworkView(model: ExplorerModel):
    """The network sample, redrawn when the model steps or is rebuilt."""
    update_counter.get()
    png = solara.use_memo(
        lambda: _painter(model, "_network_painter", NetworkPainter).render(model),
        dependencies=[model, model.steps],
    )
    solara.Image(png, width="100%", classes=["network-view"])
    solara.HTML(tag="div", unsafe_innerHTML=_legend_html())


@solara.component
def OutcomePlots(model: ExplorerModel):
    """Cohesion, identification, burden, floating gap and mobilization over the weeks."""
    update_counter.get()
    png = solara.use_memo(
        lambda: _painter(model, "_outcome_painter", OutcomePainter).render(model),
        dependencies=[model, model.steps],
    )
    solara.Image(png, width="100%", classes=["outcome-plots"])


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() and abs(v) > 1 else f"{v:.3f}"
    return str(v)


def _lever_value(policy: PolicyParams, name: str) -> str:
    value = getattr(policy, name)
    if value is None:
        parent = getattr(policy, "LEVER_PARENTS", {}).get(name)
        if parent is None:
            return "unset"
        return f"{_fmt(float(getattr(policy, parent)))} (= {parent})"
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


TABLE_CSS = """
.explorer-table { border-collapse: collapse; font-size: 13px; width: 100%; }
.explorer-table th { text-align: left; border-bottom: 1px solid #999; padding: 2px 8px; }
.explorer-table td { border-bottom: 1px solid #e0e0e0; padding: 2px 8px; vertical-align: top; }
.explorer-table td.num { text-align: right; font-variant-numeric: tabular-nums;
                         white-space: nowrap; }
"""


@solara.component
def OutcomeTable(model: ExplorerModel):
    """Current outcomes and the levers of the running model, as text."""
    update_counter.get()
    outcomes = [(k.replace("_", " "), _fmt(float(v))) for k, v in model.outcomes().items()]
    levers = [
        (c.name.replace("_", " "), _lever_value(model.policy, c.name), c.doc)
        for c in lever_controls()
    ]
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
def Explorer(model: ExplorerModel):
    """The main area: status line, network sample and outcome plots, then the tables."""
    update_counter.get()
    solara.Style(TABLE_CSS)
    with solara.Column(style={"padding": "0 12px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f'<b class="explorer-status">Week {_week(model)}</b> · '
                f"{model.people.n:,} people · seed {model.seed}. Levers apply when the "
                "model is rebuilt: move them in the sidebar, press <b>Reset</b>, then "
                "<b>Step</b> or ▶."
            ),
            style={"font-size": "15px", "padding": "8px 0 0 0"},
        )
        with solara.Columns([1, 1]):
            with solara.Card("Network sample", margin=0):
                NetworkView(model)
            with solara.Card("Outcomes over time", margin=0):
                OutcomePlots(model)
        with solara.Card("Outcomes now and levers of this run", margin=0):
            OutcomeTable(model)


@solara.component
def Page():
    """The explorer page: Mesa's SolaraViz for the controls, and the explorer's main area.

    The displays are laid out here rather than passed to SolaraViz as ``components``: its
    draggable grid loads vue-grid-layout 2, which fails under the Vue 3 front end this solara
    uses (``GlobalVue.use is not a function``), leaving the main area blank. SolaraViz gets the
    model as a reactive value, so Reset (which replaces the model) redraws the main area too.
    """
    initial = solara.use_memo(ExplorerModel, [])
    model = solara.use_reactive(initial)
    SolaraViz(
        model,
        components=[],
        model_params=model_params(),
        name="Grassroots party building: explorer",
        play_interval=100,
    )
    Explorer(model.value)


# --------------------------------------------------------------------------- front-end assets
#: Front-end packages the page loads through solara's asset proxy. Solara fetches them from a
#: CDN on first use; where the server cannot reach one, ``install_assets`` puts them in the
#: proxy's cache from the npm registry (with npm), at the versions solara's own files name.
ASSET_PACKAGES = (
    "@widgetti/solara-vuetify3-app",
    "@widgetti/solara-vuetify-app",
    "@widgetti/vue-grid-layout",
    "requirejs",
    "font-awesome",
)


def asset_versions() -> dict[str, str]:
    """The version of each asset package that the installed solara asks for."""
    import ipyvue
    import solara.server

    root = Path(solara.__file__).parent
    text = "\n".join(
        p.read_text(errors="ignore")
        for pattern in ("server/templates/*.j2", "widgets/vue/*.vue", "server/settings.py")
        for p in root.glob(pattern)
    )
    vue3 = int(ipyvue.__version__.split(".")[0]) >= 3
    found = {}
    for name in ASSET_PACKAGES:
        if name.endswith("solara-vuetify-app") and vue3:
            continue
        if name.endswith("solara-vuetify3-app") and not vue3:
            continue
        versions = sorted(set(re.findall(re.escape(name) + r"@([0-9][A-Za-z0-9_.-]*)/", text)))
        if versions:
            found[name] = versions[-1]
    return found


def install_assets(cache_dir: Path | None = None, quiet: bool = False) -> Path:
    """Put the page's front-end packages into solara's asset cache (no-op when present).

    Returns the cache directory. Needs ``npm`` only for packages not there yet.
    """
    if cache_dir is None:
        from solara.server import settings

        cache_dir = Path(settings.assets.proxy_cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, version in asset_versions().items():
        target = cache_dir / f"{name}@{version}"
        if (target / "package.json").exists():
            continue
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed to fetch {name}@{version} for the page")
        if not quiet:
            print(f"fetching {name}@{version} into {cache_dir}", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [npm, "pack", f"{name}@{version}", "--json", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            tgz = Path(tmp) / json.loads(out.stdout)[0]["filename"]
            unpack = Path(tmp) / "unpacked"
            with tarfile.open(tgz) as tar:
                tar.extractall(unpack, filter="data")
            staged = target.parent / f".{target.name}.partial"
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staged, ignore_errors=True)
            shutil.move(unpack / "package", staged)
            shutil.rmtree(target, ignore_errors=True)
            staged.rename(target)
    return cache_dir


# solara executes this file as __main__ too, hence the check of the arguments
if __name__ == "__main__" and sys.argv[1:] == ["--install-assets"]:
    print(install_assets())
