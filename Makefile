# natsim — the two commands a user needs are `make demo` and `make test`: as an ordinary user once the
# Debian packages are installed (`sudo make packages`) where the kernel allows unprivileged user
# namespaces (`natsim doctor` says), else as root or through sudo.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
# The virtualenv: .venv/ here, or $NATSIM_VENV (the Vagrantfile's VM keeps it outside the shared folder).
VENV := $(or $(NATSIM_VENV),.venv)
# chromium: tests open report.html in it (natsim run --html).
APT_PACKAGES := nftables conntrack iproute2 tcpdump openssh-server openssh-client openssl socat mininet \
                python3 python3-venv make iputils-ping libseccomp2 util-linux chromium coturn wireguard-go \
                wireguard-tools
# Packages whose maintainer scripts would enable and start a host service (coturn: turnserver on UDP
# 3478 of every address). natsim runs them only inside lab nodes (coturn: an independent RFC 5780 server
# and client for the interop tests), so they are installed with service starts denied (a policy-rc.d for
# the install, unless the host has its own) and their unit disabled right after (systemctl disable, which
# works without a running systemd and disables the SysV script too; stopped as well if a host policy let
# it start): `make packages` never leaves a host service running or enabled.
NO_SERVICE_PACKAGES := coturn
POLICY_RC_D ?= /usr/sbin/policy-rc.d
SYSTEMD_RUNNING ?= /run/systemd/system
# Only a machine that hosts VMs needs these (tests/unit/test_vagrantfile.py: `vagrant validate` with
# both providers); the Vagrantfile's VM installs without them (HOST_APT_PACKAGES=).
HOST_APT_PACKAGES := vagrant vagrant-libvirt
# Parallel workers for the lab tiers (tests/netns, tests/e2e): they mostly wait on scaled timers, not
# CPU. xdist hands them out a test (or a module with an expensive module-scoped fixture, built once) at a
# time, longest first (--dist loadgroup, scheduled by tests/schedule.py), so every worker runs a lab at
# once. The unit tier runs beside them as its own session under nice 19 (tests/tiers.py): it takes only
# the CPU the labs leave, so the labs' tools keep their timing (in one session, 8 workers on 2 cores once
# starved them: a 2 min UDP timer seen expired at 1m57s of nominal idle, a WireGuard keepalive 4.4 lab s
# late). The unit modules that time real sleeps (tests/tiers.py REALTIME) run in the lab session, not
# niced. 12 lab workers: measured times against 10 and 14 in docs/lab.md.
# PYTEST_ARGS: test paths choose the tiers; other pytest options go to both.
WORKERS ?= 12
UNIT_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: setup packages demo test lint unit bench clean-venv

setup: packages $(VENV)/.installed

# The only step that needs root, and only while a package is missing.
packages:
	@set -e; missing=$$(for p in $(APT_PACKAGES) $(HOST_APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q '^install ok installed$$' || echo $$p; done); \
	missing=$$(echo $$missing); [ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "*** missing Debian packages: $$missing; install them once with: sudo make packages"; exit 1; \
	fi; \
	echo "*** installing Debian packages:" $$missing; \
	if [ ! -e $(POLICY_RC_D) ]; then \
	  trap 'rm -f $(POLICY_RC_D)' EXIT; \
	  printf '#!/bin/sh\n# natsim make packages: no service starts while it installs packages\nexit 101\n' \
	    > $(POLICY_RC_D); chmod 755 $(POLICY_RC_D); \
	fi; \
	apt-get update -qq; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	for p in $(NO_SERVICE_PACKAGES); do case " $$missing " in *" $$p "*) \
	  if command -v systemctl >/dev/null; then systemctl disable --quiet $$p.service; fi; \
	  if [ -d $(SYSTEMD_RUNNING) ] && systemctl is-active --quiet $$p.service; then \
	    systemctl stop $$p.service; fi; \
	  echo "*** $$p: installed for lab nodes only; its host service is disabled";; esac; done

$(VENV)/.installed: pyproject.toml setup.py
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
	$(VENV)/bin/python -m tests.tiers --lab-workers $(WORKERS) --unit-workers $(UNIT_WORKERS) $(PYTEST_ARGS)

# Every benchmark in turn, then one table: each figure, its target, its ratio to the reference measured
# in the same run (docs/benchmarks.md). BENCH_ARGS=--quick: small sizes, a check that all still run.
BENCH_ARGS ?=
bench: setup
	$(VENV)/bin/python benchmarks/run_all.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
