# Two commands for a newcomer: `make demo` and `make test`. Everything else is set-up they depend on.
# Re-running skips what is up to date (stamp files under .venv/).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

LABEXT_DIR := labextension
LABEXT_OUT := jupyter_dbx_auth/labextension/package.json
LABEXT_SRC := $(shell find $(LABEXT_DIR)/src $(LABEXT_DIR)/style $(LABEXT_DIR)/schema -type f 2>/dev/null) \
              $(LABEXT_DIR)/package.json $(LABEXT_DIR)/tsconfig.json
# jlpm install runs again only when the dependency set changes.
LABEXT_DEPS := $(LABEXT_DIR)/node_modules/.jlpm-installed

.PHONY: demo test pytest lint bench clean setup labextension hub-proxy mutate mutate-rerun

# `make mutate`: mutation testing (mutmut) of the modules that carry security and correctness.
# Not part of `make test` (slow); run it before resolving a security issue. THE one list of
# modules: when code moves, change it here (mutmut's other settings are in pyproject.toml).
MUTATE_MODULES := \
  jupyter_dbx_auth/core/service/pending.py \
  jupyter_dbx_auth/core/service/timeouts.py \
  jupyter_dbx_auth/server/kernel_key.py \
  jupyter_dbx_auth/core/service/redirects.py \
  jupyter_dbx_auth/core/broker.py \
  jupyter_dbx_auth/core/audit.py \
  jupyter_dbx_auth/core/store/encrypted_file.py \
  jupyter_dbx_auth/core/store/_keys.py \
  jupyter_dbx_auth/core/oauth/pkce.py \
  jupyter_dbx_auth/core/validation.py
# mutmut names mutants `<dotted module>.<function>__mutmut_<n>`: one glob per module.
MUTATE_GLOBS = $(foreach m,$(MUTATE_MODULES),'$(subst /,.,$(m:.py=)).*')
MUTATE_JOBS ?= 2

demo: setup
	$(PY) binder/demo.py

test: setup hub-proxy
	$(PY) -m pytest -q -p no:cacheprovider
	@$(MAKE) --no-print-directory ui-test

# Jest (labextension model logic) and the browser tests (Galata + Debian's Chromium) run from
# tests/ui-tests/Makefile, which also installs Chromium and the node packages they need.
ui-test:
	@if [ -f tests/ui-tests/package.json ]; then $(MAKE) --no-print-directory -C tests/ui-tests test; fi

# configurable-http-proxy for the JupyterHub tests, project-local (never global), from the
# committed package-lock.json.
HUB_PROXY := tests/hub/node_modules/.bin/configurable-http-proxy
hub-proxy: $(HUB_PROXY)
$(HUB_PROXY): tests/hub/package.json tests/hub/package-lock.json
	cd tests/hub && npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed $(VENV)/.labext-linked $(LABEXT_OUT)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Build tools first (jlpm and jupyter-builder come with jupyterlab; hatchling needs `editables` for
# `pip install -e` without isolation), then the package without build isolation so the
# labextension we built is used as-is instead of rebuilt in a throwaway environment (the hatch
# build hook skips npm when the built labextension exists).
$(VENV)/.tools: | $(PY)
	$(PY) -m pip install -q hatchling 'hatch-jupyter-builder>=0.9' 'jupyterlab>=4.2,<5' \
	  'jupyter-builder>=1.2' editables
	touch $@

# yarn.lock is committed; under CI=true jlpm refuses to change it (immutable install).
$(LABEXT_DEPS): $(VENV)/.tools $(LABEXT_DIR)/package.json $(LABEXT_DIR)/yarn.lock \
                $(LABEXT_DIR)/.yarnrc.yml
	cd $(LABEXT_DIR) && jlpm install
	touch $@

$(LABEXT_OUT): $(LABEXT_DEPS) $(LABEXT_SRC)
	cd $(LABEXT_DIR) && jlpm build:prod
	touch $@

labextension: $(LABEXT_OUT)

# Rebuilding the labextension does not reinstall the package: the editable install and the
# develop symlink point at jupyter_dbx_auth/labextension, which the build rewrites in place.
$(VENV)/.installed: pyproject.toml $(VENV)/.tools | $(LABEXT_OUT)
	$(PY) -m pip install -q --no-build-isolation -e '.[dev]'
	touch $@

$(VENV)/.labext-linked: $(VENV)/.installed
	$(BIN)/jupyter-builder develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix jupyter_dbx_auth >/dev/null
	touch $@

lint: setup
	$(BIN)/ruff check jupyter_dbx_auth tests bench binder
	$(BIN)/ruff format --check jupyter_dbx_auth tests bench binder

bench: setup
	$(PY) -m bench

mutate: setup
	$(BIN)/mutmut run --max-children $(MUTATE_JOBS) $(MUTATE_GLOBS)
	$(BIN)/mutmut results

# Re-run the survivors of the last `make mutate` whose names match MATCH (a grep -E pattern)
# against chosen TESTS, the way mutmut runs one mutant (MUTANT_UNDER_TEST in mutants/): minutes
# for new tests of one module instead of a whole run. Prints "killed" or "SURVIVED" per mutant.
#   make mutate-rerun MATCH='store\.encrypted_file' TESTS='tests/core/test_store_guards.py'
mutate-rerun:
	@test -d mutants || { echo "No mutants/ here: run make mutate first."; exit 2; }
	@test -n "$(TESTS)" || { echo "Say which tests: TESTS='tests/core/test_x.py ...'"; exit 2; }
	@for f in $(TESTS); do mkdir -p "mutants/$$(dirname $$f)" && cp "$$f" "mutants/$$f" || exit 2; done; \
	for m in $$($(BIN)/mutmut results 2>/dev/null | grep -E '$(MATCH)' | grep -E 'survived|no tests' \
	            | awk '{print $$1}' | tr -d ':'); do \
	  (cd mutants && MUTANT_UNDER_TEST=$$m timeout 600 ../$(PY) -m pytest -x -q -p no:cacheprovider \
	     -p no:randomly $(TESTS) >/dev/null 2>&1); rc=$$?; \
	  case $$rc in 0) echo "SURVIVED $$m";; 1) echo "killed   $$m";; *) echo "error($$rc) $$m";; esac; \
	done

clean:
	rm -rf $(VENV) .venv-spark mutants tests/hub/node_modules labextension/node_modules labextension/lib jupyter_dbx_auth/labextension
