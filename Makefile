# Entry points a newcomer runs (README): `make test` and `make lab`. Every target sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
ENV := . scripts/env.sh &&
SCENARIOS := $(shell scripts/scenarios.sh)
SCENARIO ?=

help:
	@echo "make test      set up this machine, then lint, sanity, unit tests and every molecule scenario"
	@echo "make lab       set up this machine, then deploy site.yml to the local two-container lab"
	@echo "make test-extended  the whole-stack scenario with its check/diff and tag tests too (long)"
	@echo "make setup     only the setup (apt packages, podman settings, images, .venv, stand-in packages)"
	@echo "stages:        make yamllint | ansible-lint | lint | sanity | unit | lab-test | molecule [SCENARIO=name]"
	@echo "make build     ansible-galaxy collection build into dist/"
	@echo "make docs      write the role READMEs' variable tables from meta/argument_specs.yml (scripts/role_docs.py)"
	@echo "make clean     remove build output, .venv and .collections (images stay: make clean-images)"

setup:
	@bash scripts/lab-host.sh
	@bash scripts/lab-images.sh
	@bash scripts/venv.sh
	@if [ -x tests/standins/build.sh ]; then bash tests/standins/build.sh; fi
	@if [ -x tests/standins/build-rpms.sh ]; then bash tests/standins/build-rpms.sh; fi
	@bash scripts/podman-check.sh

# The verify scenario, the longest (its session tests wait on the expiry timer's minutes), runs in the background
# beside the lab stage and the other scenarios: it has containers and a network of its own. (A second scenario in the
# background, default, made the whole run slower on two cores: 2525 s against 2043 s, every stage waiting for CPU.)
BACKGROUND_SCENARIOS := verify
test: setup
	@bash scripts/stages.sh yamllint ansible-lint sanity unit \
	  $(addprefix bg:molecule:,$(filter $(BACKGROUND_SCENARIOS),$(SCENARIOS))) \
	  lab-test $(addprefix molecule:,$(filter-out $(BACKGROUND_SCENARIOS),$(SCENARIOS)))

# The whole-stack check/diff and tag tests re-run site.yml several times each: longer than CI's budget on two cores.
# (The fault table and the bad-input table are part of make test.)
test-extended: setup
	@DCVKIT_EXTENDED_TESTS=1 bash scripts/stages.sh molecule:default

lab: setup
	@$(ENV) bash scripts/lab.sh

# make lab's path from fresh containers, then tests/lab (clean converge, desktop in a browser, installed tarball)
lab-test:
	@bash scripts/lab-test.sh

yamllint:
	@$(ENV) yamllint --strict .

# ansible-lint puts its cache directory (ANSIBLE_HOME, ~/.ansible by default) first in the collections path: a copy of
# this collection installed there once would shadow the checkout. Its own directory here keeps it on the checkout.
ansible-lint:
	@$(ENV) ANSIBLE_HOME="$(CURDIR)/.cache/ansible-lint" ansible-lint --offline --strict --nocolor

lint: yamllint ansible-lint

sanity:
	@$(ENV) bash scripts/sanity.sh

unit:
	@$(ENV) bash scripts/unit.sh

molecule:
ifeq ($(SCENARIO),)
	@bash scripts/stages.sh $(addprefix molecule:,$(SCENARIOS))
else
	@$(ENV) molecule test -s $(SCENARIO)
endif

docs:
	@$(ENV) python scripts/role_docs.py

build:
	@$(ENV) mkdir -p dist && ansible-galaxy collection build --force --output-path dist .

clean:
	rm -rf .venv .collections .cache build dist tests/output .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-images:
	-podman image rm localhost/dcvkit-lab-debian12:latest localhost/dcvkit-lab-ubuntu2204:latest \
		localhost/dcvkit-lab-al2023standin:latest

.PHONY: help setup test test-extended lab lab-test yamllint ansible-lint lint sanity unit molecule docs build clean clean-images
