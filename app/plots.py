"""The outcome time series of a live run, and the PNG encoding both of the page's figures use.

Only the model's ``DataCollector`` is read (public Mesa API).
"""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from mesa import Model  # noqa: E402

#: Outcome panels: (title, {outcome: colour}).
PANELS = (
    ("Cohesion and identification", {"cohesion": "#1b9e77", "identification": "#7570b3"}),
    ("Burden and floating gap", {"burden": "#d95f02", "floating_gap": "#e7298a"}),
    ("Mobilization (share of people active)", {"mobilization": "#66a61e"}),
)


def canvas_png(canvas: FigureCanvasAgg, palette: bool = False) -> bytes:
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


class OutcomePainter:
    """Live plots of the outcomes recorded by the model's DataCollector (one figure, blitted).

    The time axis spans a year and doubles whenever the run goes past it; only then is the
    background (axes, ticks, legends) drawn again. Each frame draws just the lines. A new run
    (Reset) starts again at a year.
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

    def _fit_horizon(self, weeks: int) -> None:
        """A year, doubled until the run fits; the background is redrawn only when it changes."""
        right = self.HORIZON
        while weeks > right:
            right *= 2
        if right != self.axes[-1].get_xlim()[1]:
            self.axes[-1].set_xlim(0, right)
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def render(self, model: Model) -> bytes:
        """A PNG of every step the model has recorded so far."""
        with self.lock:
            frame = model.datacollector.get_model_vars_dataframe()
            self._fit_horizon(len(frame))
            self.canvas.restore_region(self.background)
            weeks = np.arange(1, len(frame) + 1)
            for name, line in self.lines.items():
                values = frame[name].to_numpy(float) if name in frame else np.empty(0)
                line.set_data(weeks[: values.size], values)
                line.axes.draw_artist(line)
            self.canvas.blit(self.fig.bbox)
            return canvas_png(self.canvas)
