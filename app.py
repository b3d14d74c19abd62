"""Interactive explorer: the entry point of the party-building model's Solara page.

Open it with ``make app`` (which puts the page's front-end files in place with
``python scripts/install_assets.py``, then runs
``solara run app.py --host 127.0.0.1 --port 8765 --production``) and browse to
http://127.0.0.1:8765.

The sidebar offers Reset, play/pause and Step; a choice of policy package (the options of
``configs/policy/``) whose values the levers start from; a control for every policy lever of
:class:`sim.params.PolicyParams` (a lever added there appears with no change here); population,
seed and the week of the crisis call; and a field for any further Hydra override. Settings
become the overrides the command line takes (``policy=fusion policy.integration_effort=0.4``)
and apply on **Reset**, which builds the model through :func:`sim.load_config`; a rejected
value shows its one-line error and the current run goes on. The main area shows a sample of
the network, live plots of the outcomes, and tables of the outcomes now and the run's levers.

The code lives in the package ``app/`` beside this file (see its docstring); this file only
names the page. A package ``app/`` and a module ``app.py`` side by side do not clash here:
``solara run app.py`` executes this file by its path (as ``__main__``, with this folder on
``sys.path``), and the import below, like ``import app`` in the tests, finds the package,
since Python prefers a package directory to a module of the same name.
"""

from app.page import Page

__all__ = ["Page"]
