"""The network view: a seeded sample of people, its layout, its painter and its key.

The sample (at most :data:`SAMPLE_SIZE` people of whole residential communities) and its layout
are fixed when a run is built; each frame colours the sampled people by their state now. The
model is read only through :mod:`app.model_view`.

Speed: the layout (a vectorised Fruchterman-Reingold on the sample only) is computed once per
network and cached, so a Reset with other levers keeps the same picture and only colours and
markers move; the ties are drawn once into a cached background, and each frame restores it and
draws only the people (blitting).
"""

from __future__ import annotations

import hashlib
import html
import threading
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa import Model  # noqa: E402

from app import model_view  # noqa: E402
from app.plots import canvas_png  # noqa: E402

#: Most people drawn in the network view.
SAMPLE_SIZE = 2000
#: Outline of a member by the kind of their home branch.
BRANCH_COLOURS = {
    "unit": "#222222",
    "joint": "#8c564b",
    "platform": "#ff7f0e",
    "community": "#1f77b4",
    "online": "#e377c2",
}
FLOATING_COLOUR = "#d62728"
LAYER_COLOURS = {"work": "#4c72b0", "residence": "#55a868", "online": "#c44e52"}
#: How each sector is labelled in the picture.
SECTOR_LABELS = {"none": "no work unit"}
CMAP = "viridis"
#: Layouts kept (one per network; a network is fixed by population and seed).
LAYOUT_CACHE_SIZE = 16

_LAYOUT_CACHE: dict[str, np.ndarray] = {}


@dataclass(frozen=True, eq=False)
class NetworkSample:
    """A deterministic sample of people with a fixed layout for the network view.

    Whole residential communities are taken in a seeded order until ``size`` people are
    drawn (the last community only in part, by a seeded permutation), so that the sample keeps
    neighbourhood ties and part of the work and online ties. The layout pulls each person
    towards the anchor of their sector at the start (state, enterprise, platform, none), so the
    four sectors sit in four lobes joined by the ties between them.
    """

    people: np.ndarray  # person ids, sorted
    pos: np.ndarray  # (n, 2) layout in the unit square
    groups: np.ndarray  # sector of each sampled person when the run was built

    @classmethod
    def draw(cls, model: Model, size: int = SAMPLE_SIZE) -> NetworkSample:
        """The sample of a freshly built model (never draws from the model's generators)."""
        n = model_view.population(model)
        rng = np.random.default_rng([int(model.seed), 20_250_605])
        community = model_view.residential_communities(model)
        order = rng.permutation(int(community.max()) + 1)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        # people by their community's rank, then by a random key inside it
        people = np.sort(np.lexsort((rng.random(n), rank[community]))[: min(size, n)])
        rows, cols = _both_directions(model_view.sample_layers(model, people))
        groups = model_view.sectors(model)[people].astype(np.int64)
        return cls(people, _cached_layout(rows, cols, groups, int(model.seed)), groups)

    def edges(self, model: Model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Edges (i < j, sample positions) of each layer as they are now."""
        out = {}
        for name, layer in model_view.sample_layers(model, self.people).items():
            coo = layer.tocoo()
            keep = coo.row < coo.col
            out[name] = coo.row[keep], coo.col[keep]
        return out


def _both_directions(layers: dict[str, sp.csr_array]) -> tuple[np.ndarray, np.ndarray]:
    """Every tie of the union of the layers, in both directions, without self-ties."""
    coo = sp.csr_array(sum(layers.values())).tocoo()
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
        if len(_LAYOUT_CACHE) >= LAYOUT_CACHE_SIZE:
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


def people_masks(model: Model, people: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Which sampled people each marker group draws, and each person's branch kind (-1: none).

    Groups: masses (plain, or reached by a member's service this week) and members (in a
    branch, dual-registered, or floating without one); every person is in exactly one.
    """
    member = model_view.is_member(model, people)
    reached = model_view.reached_by_service(model, people)
    dual = model_view.dual_registered(model, people)
    kind = model_view.branch_kind_of_people(model, people)
    masks = {
        "mass": ~member & ~reached,
        "served": ~member & reached,
        "member": member & (kind >= 0) & ~dual,
        "dual": member & (kind >= 0) & dual,
        "floating": member & (kind < 0),
    }
    return masks, kind


class NetworkPainter:
    """Draws a run's network sample; redraws only the people on a cached background.

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
        self.outline = np.array([BRANCH_COLOURS[k] for k in model_view.BRANCH_KINDS])
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
                SECTOR_LABELS.get(name, name),
                ha="center",
                va="center",
                fontsize=10,
                color="black",
                weight="bold",
                animated=True,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.7),
            )
            for name, (cx, cy) in zip(
                model_view.SECTORS, group_centres(sample.pos, sample.groups), strict=False
            )
            if np.isfinite(cx)
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

    def render(self, model: Model, sample: NetworkSample) -> bytes:
        """A PNG of the sample as it is now."""
        with self.lock:
            edges = sample.edges(model)
            h = hashlib.sha1()
            for r, c in edges.values():
                h.update(r.tobytes())
                h.update(c.tobytes())
            if h.hexdigest() != self.signature or self.background is None:
                self._set_ties(sample, edges)
                self.signature = h.hexdigest()
            ids = sample.people
            x = model_view.person_values(model, ids)
            masks, kind = people_masks(model, ids)
            self.canvas.restore_region(self.background)
            for name, mask in masks.items():
                coll = self.groups[name]
                coll.set_offsets(sample.pos[mask])
                coll.set_array(x[mask])
                if name in ("member", "dual"):
                    coll.set_edgecolors(self.outline[kind[mask]])
                self.ax.draw_artist(coll)
            self.title.set_text(
                f"{ids.size:,} of {model_view.population(model):,} people · week {model.steps}"
            )
            self.fig.draw_artist(self.title)
            for label in self.labels:
                self.ax.draw_artist(label)
            self.canvas.blit(self.fig.bbox)
            return canvas_png(self.canvas, palette=True)


def legend_html() -> str:
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
    branches = [(box(c), n) for n, c in BRANCH_COLOURS.items()]
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
