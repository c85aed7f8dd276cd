# Two commands: `make run` serves the app on http://localhost:8501, `make test` runs the suite.
# Both set everything up first, idempotently: system packages, .venv, Python packages.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-stamp
WARM   := $(VENV)/.warm-stamp
PORT   ?= 8501
ABCJS_VERSION ?= 6.7.2
ABCJS  := static/vendor/abcjs-$(ABCJS_VERSION).stamp

ADDRESS ?= 0.0.0.0

.PHONY: run serve-survey test setup system-deps bench clean-venv

run: setup
	@$(PY) -m core admin-password  # first run: makes the survey admin password and prints it once
	$(PY) -m streamlit run serve.py --server.headless true --server.address localhost --server.port $(PORT)

# Participant-only: the survey page and /_stcore/health, nothing else, reachable from other machines.
serve-survey: setup
	TUNELAB_MODE=survey $(PY) -m streamlit run serve.py --server.headless true --server.address $(ADDRESS) \
		--server.port $(PORT) --client.toolbarMode minimal

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

setup: system-deps $(STAMP) $(WARM) $(ABCJS)

# abcjs (notation with a cursor on Compose) from npm, served by the app itself: no page asks another host.
$(ABCJS):
	@bash scripts/vendor-abcjs.sh $(ABCJS_VERSION)

system-deps:
	@bash scripts/system-deps.sh

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt constraints.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	@touch $(STAMP)

# Novelty indexes and primer caches, built once at install time so that no first Generate builds them.
$(WARM): $(STAMP) $(wildcard assets/models/*/card.json)
	$(PY) -m core warm
	@touch $(WARM)

bench: setup
	$(PY) benchmarks/generate_speed.py

clean-venv:
	rm -rf $(VENV)
