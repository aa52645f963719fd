# natsim — the two commands a user needs are `make demo` and `make test` (as root, or through sudo).
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
APT_PACKAGES := nftables conntrack iproute2 tcpdump openssh-server openssh-client openssl socat mininet \
                python3 python3-venv make iputils-ping
# Parallel workers for the lab tier: tests mostly wait on scaled timers, not CPU.
WORKERS ?= 8
PYTEST_ARGS ?=

.PHONY: setup demo test lint unit clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "*** installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	fi
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $@

demo: setup
	$(VENV)/bin/natsim demo

lint: setup
	$(VENV)/bin/ruff check natsim topologies tests benchmarks examples setup.py
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q tests/unit $(PYTEST_ARGS)

test: setup lint
	$(VENV)/bin/pytest -q -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
