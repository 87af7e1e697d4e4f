# portside: `make run` serves the API on the embedded profile; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest workers; CI machines have 2 cores
JOBS   ?= auto

.DEFAULT_GOAL := help
.PHONY: help install run serve migrate worker test test-fast wheel-check lint fmt up down smoke bench bench-ab bench-inproc bench-ws bench-users bench-jobs bench-login bench-register clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m pip check
	touch $@

install: $(STAMP)  ## create .venv and install portside with its dev tools (locked versions)

run: migrate  ## set up, migrate and serve on 127.0.0.1:8000 (SQLite, no services needed)
	PORTSIDE_HOST=$(HOST) PORTSIDE_PORT=$(PORT) $(BIN)/portside serve

serve: $(STAMP)  ## serve without migrating
	PORTSIDE_HOST=$(HOST) PORTSIDE_PORT=$(PORT) $(BIN)/portside serve

migrate: $(STAMP)  ## upgrade the configured database to the latest migration
	$(BIN)/portside migrate

worker: $(STAMP)  ## run the relay and the jobs on arq (needs PORTSIDE_REDIS_URL; without it `serve` runs them)
	$(BIN)/portside worker

lint: $(STAMP)  ## ruff, formatting, mypy --strict, import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)  ## format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint wheel-check  ## lint, the wheel check, then the whole suite against real PostgreSQL and Redis
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/pytest -n $(JOBS) -p no:cacheprovider

wheel-check: $(STAMP)  ## build the wheel, install it in a fresh venv, run the README example, migrate and serve (~25 s)
	$(BIN)/python .ci/wheel_check.py

test-fast: $(STAMP)  ## unit tests only, no services
	$(BIN)/pytest tests/unit -q

up:  ## the production profile in containers: nginx on :8000, two api, two workers, postgres, redis
	docker compose up --build

down:
	docker compose down

.PHONY: smoke
SMOKE_URL ?= http://127.0.0.1:8000
SMOKE_LOG ?= docker compose logs --no-log-prefix nginx
smoke:  ## against `make up`, through nginx: ready, sign-up, login, /auth/me; both api replicas answered
	@curl -fsS --retry 30 --retry-delay 2 --retry-connrefused $(SMOKE_URL)/health/ready && echo
	@user="smoke-$$(date +%s)-$$$$@example.com"; \
	body="{\"email\": \"$$user\", \"password\": \"smoke test $$$$ passphrase\"}"; \
	curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$$body" $(SMOKE_URL)/api/v1/auth/register && \
	token=$$(curl -fsS -H 'Content-Type: application/json' -d "$$body" $(SMOKE_URL)/api/v1/auth/login \
	  | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') && \
	echo "registered and logged in: $$user" && \
	curl -fsS -H "Authorization: Bearer $$token" $(SMOKE_URL)/api/v1/auth/me && echo
	@code=$$(curl -s -o /dev/null -w '%{http_code}' $(SMOKE_URL)/metrics); \
	echo "/metrics through nginx: $$code"; test "$$code" = 404
	@for i in 1 2 3 4 5 6; do curl -fsS -o /dev/null $(SMOKE_URL)/health; done; \
	served=$$($(SMOKE_LOG) | grep -o 'upstream=[0-9][0-9.:]*' | sort -u | wc -l); \
	echo "api replicas that answered through nginx: $$served"; test "$$served" -ge 2

clean:  ## remove the venv and local state
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

bench: $(STAMP)  ## portside vs a bare Litestar+asyncpg ceiling under wrk, then the jobs figures (PostgreSQL + Redis; ~6 min)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run $(if $(TRACING),--tracing $(TRACING))
	$(BIN)/python -m bench.jobs

bench-ab: $(STAMP)  ## one process of BEFORE=<git rev> against one of the working tree, driven alternately (PostgreSQL + Redis; ~5 min)
	@test -n "$(BEFORE)" || { echo "usage: make bench-ab BEFORE=<git revision>"; exit 2; }
	$(BIN)/python -m bench.ab $(BEFORE)

bench-inproc: $(STAMP)  ## CPU per request of the served app and the ceiling, driven in-process as ASGI (no server, no network; PostgreSQL + Redis; ~1 min)
	$(BIN)/python -m bench.inproc $(if $(ONLY),--only "$(ONLY)") $(if $(PROFILE),--profile "$(PROFILE)") $(if $(TRACING),--tracing $(TRACING))

bench-ws: $(STAMP)  ## 10,000 authenticated /api/v1/ws sockets on one `serve` (memory://): RSS, open time, broadcast latency (~2 min)
	$(BIN)/python -m bench.ws $(if $(SOCKETS),--sockets $(SOCKETS))

bench-users: $(STAMP)  ## 10,000 users on keep-alive connections, 5 s think time, the issue-15 mix, against a production-profile `serve` with 2 workers; CEILING=1: the bare ceiling app instead (PostgreSQL + Redis; ~4 min)
	$(BIN)/python -m bench.users $(if $(USERS),--users $(USERS)) $(if $(TRACING),--tracing $(TRACING)) $(if $(CEILING),--ceiling)

bench-jobs: $(STAMP)  ## commit-to-job-start latency (one worker) and relay throughput (PostgreSQL + Redis; ~30 s)
	$(BIN)/python -m bench.jobs

bench-login: $(STAMP)  ## /health latency with and without a login flood (hashing stays off the loop)
	$(BIN)/python -m bench.login_health

bench-register: $(STAMP)  ## /auth/me latency with and without 60 clients registering (SQLite; DATABASE_URL=... for PostgreSQL)
	$(BIN)/python -m bench.register_flood $(if $(DATABASE_URL),--database-url $(DATABASE_URL))
