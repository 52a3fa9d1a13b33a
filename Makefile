# Szpak: two commands do everything on a fresh machine.
#   make run    start the server on the embedded default (SQLite) at http://localhost:3000
#   make test   install what is missing and run every test
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: install run test test-pg compat services bench demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/szpak serve --host 127.0.0.1 --port 3000

demo: install
	$(VENV)/bin/szpak demo

test: install
	bash scripts/test-deps.sh
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Only the compatibility suites (toot's integration tests, schemathesis; docs/compatibility.md).
# They are part of `make test` too.
compat: install
	$(PY) -m pytest tests/compat $(PYTEST_ARGS)

# The suite again on PostgreSQL and Redis (started locally; installed with apt-get when missing).
test-pg: install
	bash scripts/services.sh
	SZPAK_TEST_DATABASE_URL=postgresql+asyncpg://szpak:szpak@127.0.0.1:5432/szpak \
	SZPAK_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
	$(MAKE) test

services:
	bash scripts/services.sh

bench: install
	bash scripts/services.sh
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) data .pytest_cache
