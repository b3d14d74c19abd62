# Grassroots party-building simulator: set-up, the main job, tests.
#   make run    the default experiment (4 scenarios x 5 seeds) and its figure
#   make test   lint and every test (what CI runs)
#   make check  lint and the fast tests: no slow (multi-second model runs) or browser tests
#   make app    the interactive explorer on http://127.0.0.1:8765 (this machine only)
#   make figures  redraw every experiment's figures from the results in the output root
#                 ($SIM_OUTPUT_ROOT or outputs; FIGURE_LANG=zh for Chinese labels)

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXPERIMENT ?= default
FIGURE_LANG ?= en

.PHONY: venv install run test check lint bench clean app figures

venv: $(PY)

# A Python 3.12 interpreter: python3.12 on PATH, else pyenv's (selected or installed),
# else python3 if it is 3.12.
$(PY):
	@set -e; \
	pyenv_312="$$(pyenv root 2>/dev/null || true)"; \
	pyenv_312="$$(ls -d "$$pyenv_312"/versions/3.12*/bin/python3.12 2>/dev/null | tail -n 1 || true)"; \
	for cand in python3.12 "$$(pyenv which python3.12 2>/dev/null || true)" "$$pyenv_312" python3; do \
	  [ -n "$$cand" ] || continue; \
	  if "$$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then \
	    echo "creating $(VENV) with $$cand"; \
	    "$$cand" -m venv $(VENV); \
	    exit 0; \
	  fi; \
	done; \
	echo "error: Python 3.12 not found. Install it (e.g. 'pyenv install 3.12'," \
	     "or your system's python3.12 package) and run make again." >&2; \
	exit 1

install: $(STAMP)

# Re-install only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# The main job: the default experiment's sweep over all cores, then its figure and summary.
run: $(STAMP)
	$(PY) -m experiments.run -m experiment=$(EXPERIMENT)
	$(PY) -m experiments.figures $(EXPERIMENT)

# Redraw all figures from existing results (never simulates).
figures: $(STAMP)
	$(PY) -m experiments.figures --all --lang $(FIGURE_LANG)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q -n 2

# The inner loop: tests marked slow or browser (see pyproject.toml) run only in `make test`.
check: lint
	$(PY) -m pytest -q -n 2 -m "not slow and not browser"

# The interactive explorer (a Solara page over the Mesa model; code in app/, entry point app.py),
# served on 127.0.0.1 only. Its front-end files come from the npm registry into solara's asset
# cache (scripts/install_assets.py; no CDN needed); production mode, because solara's hot
# reload would re-import numpy from the .venv inside the app's folder.
app: $(STAMP)
	$(PY) scripts/install_assets.py
	$(VENV)/bin/solara run app.py --host 127.0.0.1 --port 8765 --no-open --production

bench: $(STAMP)
	$(PY) -m experiments.benchmark

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +
