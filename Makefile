# The image service. `make serve` runs it locally, `make test` proves it; both create what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
TOOLS := .venv-tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/bin/sam
PORT ?= 3000
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

# `make token USER=alice`: USER on the command line beats the login name from the environment.
USER_NAME := $(if $(filter command line,$(origin USER)),$(USER),)

.PHONY: help env tools-env test pytest lint build serve token invoke deploy deploy-local destroy destroy-local events clean

help:
	@echo "Run it locally (no Docker, no AWS account):"
	@echo "  make serve          the API, web gallery (/) and docs (/docs) on http://127.0.0.1:$(PORT) [PORT= AUTH_MODE=cognito STATE_DIR= ENV_VARS=env.json]"
	@echo "  make token USER=alice   an ID token from a running AUTH_MODE=cognito make serve"
	@echo "  make invoke FUNCTION=UploadFunction EVENT=events/upload.json   one function, one event [ENV_VARS=env.json]"
	@echo "  make web API_URL=...    the gallery on its own port (WEB_PORT) for another API"
	@echo "  make events         regenerate the sample events in events/"
	@echo "Test:"
	@echo "  make test           lint, validate and build the template, run every test (about 6 minutes)"
	@echo "  make pytest         every test, without lint and build"
	@echo "  make lint           ruff, mypy, cfn-lint, sam validate and the security scan"
	@echo "  make scan           the template's security scan (checkov) only"
	@echo "  make contract       the API against api/openapi.yaml (contract-deep: many more generated cases)"
	@echo "  make contract-deep  the contract tests with thousands of generated cases"
	@echo "  make test-browser   the gallery in a real browser (chromium; make browser installs it)"
	@echo "  make browser        install chromium if it is missing (as root)"
	@echo "  make storm          a deeper concurrency storm on the layer (about 30 s), then the storage invariants"
	@echo "  make bench          AWS calls, latency, cold start and the local mode under load (about 5 minutes)"
	@echo "The SAM CLI's Docker path (see docs/local-modes.md):"
	@echo "  make sam-api        sam local start-api on PORT, against the local AWS emulation"
	@echo "  make sam-invoke FUNCTION=... EVENT=...   sam local invoke, one function in a container"
	@echo "  make test-sam-local the e2e suite against sam-api, every event through sam-invoke"
	@echo "  make lambda-image   build the local Lambda image the SAM CLI runs"
	@echo "Deploy:"
	@echo "  make build          sam build"
	@echo "  make deploy         sam deploy, then publish the gallery (publish-web)"
	@echo "  make publish-web    the gallery to the stack's CloudFront, API URL filled in"
	@echo "  make destroy        empty the stack's buckets (every version) and delete it [CONFIRM=yes]"
	@echo "  make deploy-local | destroy-local   deploy to / delete from a LocalStack (samlocal)"
	@echo "  make clean          remove build outputs (.aws-sam, build)"
	@echo "  make env | tools-env | scan-env     only create the Python environments"

# The functions' environment: the boto3 the Lambda runtime ships, the layer's packages, test tools.
$(VENV)/.ready: requirements-dev.txt layers/storage/requirements.txt layers/imaging/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The SAM CLI and cfn-lint, kept apart because they pin their own boto3.
$(TOOLS)/.ready: requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

env: $(VENV)/.ready
tools-env: $(TOOLS)/.ready

test: lint build pytest

pytest: $(VENV)/.ready
	$(PY) -m pytest -q

lint: $(VENV)/.ready $(TOOLS)/.ready
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# One run covers every parameter value: cfn-lint checks both branches of each condition and
	@# resolves parameters to each of their AllowedValues (AuthMode=none, AllowSelfSignUp=true...).
	@# tests/template/test_template_transform.py plants errors only those values reach and expects them found.
	$(VENV)/bin/mypy  # strict, on layers/ and functions/ (pyproject.toml)
	$(TOOLS)/bin/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml
	$(MAKE) --no-print-directory scan

build: $(TOOLS)/.ready
	$(SAM) build --template template.yaml

# The local mode's own bytecode, written once per change (this Makefile tells Python to write none):
# its processes (server, AWS emulation, workers) would otherwise compile it at every start.
LOCALAPI_BYTECODE := local/localapi/__pycache__/.compiled
$(LOCALAPI_BYTECODE): $(wildcard local/localapi/*.py) | $(VENV)/.ready
	$(PY) -m compileall -q local/localapi && touch $@

serve: $(VENV)/.ready $(LOCALAPI_BYTECODE)
	PYTHONPATH=local $(PY) -m localapi serve --port $(PORT)$(if $(ENV_VARS), --env-vars $(ENV_VARS))

# An ID token from a running `AUTH_MODE=cognito make serve`, printed as the last line.
token: $(VENV)/.ready
	@test -n "$(USER_NAME)" || { echo "usage: make token USER=alice"; exit 2; }
	@PYTHONPATH=local $(PY) -m localapi token "$(USER_NAME)" --url http://127.0.0.1:$(PORT)

invoke: $(VENV)/.ready $(LOCALAPI_BYTECODE)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=UploadFunction EVENT=events/upload.json"; exit 2; }
	PYTHONPATH=local $(PY) -m localapi invoke $(FUNCTION) $(EVENT)$(if $(ENV_VARS), --env-vars $(ENV_VARS))

events: $(VENV)/.ready
	$(PY) scripts/make_events.py

# `make deploy GUIDED=1` the first time (sam deploy --guided); DEPLOY_ARGS passes any other option.
deploy: build
	$(SAM) deploy $(if $(GUIDED),--guided) $(DEPLOY_ARGS)
	$(MAKE) --no-print-directory publish-web  # web/ to the stack's CloudFront, API URL filled in

deploy-local: $(TOOLS)/.ready
	$(SAM) build --template template.yaml
	$(TOOLS)/bin/samlocal deploy --config-env local

# Deletes the AWS stack with every photo, account and log: asks first (CONFIRM=yes does not).
# Empties the three buckets of every object version first, which CloudFormation cannot do.
destroy: $(VENV)/.ready
	$(PY) scripts/destroy_stack.py $(if $(filter yes,$(CONFIRM)),--yes)

destroy-local: $(TOOLS)/.ready
	$(TOOLS)/bin/samlocal delete --config-env local --no-prompts

clean:
	rm -rf .aws-sam build

# -- Template security scanning (hardening): checkov on template.yaml, run by `make lint` --------
# checkov pins its own boto3 and networkx, which conflict with the SAM CLI's, so it has an
# environment of its own. It runs offline: nothing is downloaded from its vendor's platform and
# no version check is made. Every skipped check is skipped in template.yaml, on its resource,
# with the reason (Metadata: checkov: skip); none is skipped here.
SCAN := .venv-scan
export BC_SKIP_MAPPING := TRUE
export CKV_SKIP_PACKAGE_UPDATE_CHECK := TRUE
.PHONY: scan scan-env

$(SCAN)/.ready: requirements-scan.txt
	test -x $(SCAN)/bin/python || $(PYTHON) -m venv $(SCAN)
	$(SCAN)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

scan-env: $(SCAN)/.ready

scan: $(SCAN)/.ready
	$(SCAN)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

# -- Benchmarks: what costs money and latency (bench/, docs/performance.md) ----------------------
# AWS calls per operation, reads per page vs collection size, cold start, memory, package size,
# the local mode under load, and a cost model. Writes bench/results/*.json and report.md and prints the tables
# (about 5 minutes on 2 cores). `make test` runs a tiny version (tests/bench).
.PHONY: bench

# BENCH_ARGS passes options, e.g. "--only local --rounds 2"; `python3 scripts/with_docker.py make bench`
# also measures `make sam-api` beside `make serve` (a Docker engine is started for the run).
bench: $(VENV)/.ready build
	$(PY) -m bench $(BENCH_ARGS)

# -- Web gallery (web/, docs/web.md): `make serve` serves it at /; these serve it elsewhere and test it
WEB_PORT ?= 8080
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: web browser test-browser publish-web

# The gallery on its own port for another API: `make sam-api`, or a deployed stack's ApiUrl (the
# API's CORS lets the page in). AUTH_MODE=cognito signs in with the local mode's tokens.
web: $(VENV)/.ready
	@test -n "$(API_URL)" || { echo "usage: make web API_URL=http://127.0.0.1:3000 [WEB_PORT=8080] [AUTH_MODE=none|cognito]"; exit 2; }
	PYTHONPATH=local $(PY) -m localapi.web --api-url "$(API_URL)" --port $(WEB_PORT) --auth-mode $(or $(AUTH_MODE),none)

# Debian's chromium, installed when missing (as root, as CI runs). Playwright drives this browser
# and never downloads one of its own.
browser:
	@test -x $(CHROMIUM) || { test "$$(id -u)" = 0 || { echo "chromium is missing: sudo apt-get install -y chromium"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@$(CHROMIUM) --version 2>/dev/null  # (Debian's wrapper script complains on stderr about its own test)

# The gallery walked through in a real browser against the local mode (tests/browser); screenshots
# of every step, desktop and phone, in build/screenshots/.
test-browser: $(VENV)/.ready browser
	BROWSER_TESTS=1 $(PY) -m pytest -q tests/browser

# web/ to the stack's bucket behind CloudFront, with the stack's API URL and sign-in filled in
# (`make deploy` runs it after `sam deploy`).
publish-web: $(VENV)/.ready
	$(PY) scripts/publish_web.py

# -- sam local: the SAM CLI's own Docker path (each function in a Lambda-like container) --------
# A Docker engine is used if one answers; as root on Debian (CI) one is installed and started for
# the duration of the command. See docs/local-modes.md.
LAMBDA_IMAGE ?= image-service/lambda-python:3.11
AWS_PORT ?= 0
WITH_DOCKER := python3 scripts/with_docker.py
export LAMBDA_IMAGE

.PHONY: lambda-image sam-invoke sam-api test-sam-local

lambda-image: $(VENV)/.ready
	$(WITH_DOCKER) scripts/lambda_image/build.sh $(LAMBDA_IMAGE)

sam-invoke: $(VENV)/.ready $(TOOLS)/.ready
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make sam-invoke FUNCTION=UploadFunction EVENT=events/upload.json"; exit 2; }
	$(WITH_DOCKER) $(PY) scripts/sam_local.py invoke $(FUNCTION) $(EVENT)

sam-api: $(VENV)/.ready $(TOOLS)/.ready
	$(WITH_DOCKER) $(PY) scripts/sam_local.py api --port $(PORT) --aws-port $(AWS_PORT)

# The e2e suite against `make sam-api`, and every events/ file through `make sam-invoke` and
# `make invoke` (the statuses must agree). Without Docker: skipped outside CI, a failure in CI.
test-sam-local: $(VENV)/.ready $(TOOLS)/.ready
	$(WITH_DOCKER) --or-skip $(PY) scripts/sam_local.py test

# -- API contract (api/openapi.yaml; `make test` runs all of it) ------------------------------------
# The spec against the code: limits, routes and error codes, request rules (in-process, generated),
# schemathesis fuzzing of the local mode, and every end-to-end response. CONTRACT_EXAMPLES and
# CONTRACT_FUZZ_EXAMPLES raise the number of generated cases for a deeper search.
.PHONY: contract contract-deep

contract: $(VENV)/.ready
	$(PY) -m pytest -q tests/contract tests/e2e local/tests/test_docs.py

contract-deep: $(VENV)/.ready
	CONTRACT_EXAMPLES=3000 CONTRACT_FUZZ_EXAMPLES=300 $(PY) -m pytest -q tests/contract

# -- Storm: concurrent uploads, direct uploads (forms posted twice, events delivered twice), edits
# and deletes by owners and strangers, then the storage invariants (tests/support/storm.py). `make test`
# runs a short one; this one runs about 30 s.
.PHONY: storm

storm: $(VENV)/.ready
	STORM_THREADS=8 STORM_OPERATIONS=30 $(PY) -m pytest -q tests/integration/test_storm.py
