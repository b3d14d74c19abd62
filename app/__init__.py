"""The interactive explorer of the party-building model, one module per job.

* :mod:`app.controls` — the sidebar's settings (policy package, levers, population, seed) as
  Hydra overrides, and their controls, derived from the params dataclasses;
* :mod:`app.live` — a live run: the model built through :func:`sim.load_config` and its sample;
* :mod:`app.network_view` — the network sample, its layout, painter and key;
* :mod:`app.plots` — the outcome time series;
* :mod:`app.page` — the Solara components and the page;
* :mod:`app.model_view` — every read of the model's internal state, and only that.

The page is served by the top-level ``app.py`` (``solara run app.py``, or ``make app``).
"""
