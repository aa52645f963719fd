# natsim — the two commands a user needs are `make demo` and `make test`: as an ordinary user once the
# Debian packages are installed (`sudo make packages`) where the kernel allows unprivileged user
# namespaces (`natsim doctor` says), else as root or through sudo.
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
# The virtualenv: .venv/ here, or $NATSIM_VENV (the Vagrantfile's VM keeps it outside the shared folder).
VENV := $(or $(NATSIM_VENV),.venv)
# chromium: tests open report.html in it (natsim run --html).
APT_PACKAGES := nftables conntrack iproute2 tcpdump openssh-server openssh-client openssl socat mininet \
                python3 python3-venv make iputils-ping libseccomp2 util-linux chromium
# Only a machine that hosts VMs needs these (tests/unit/test_vagrantfile.py: `vagrant validate` with
# both providers); the Vagrantfile's VM installs without them (HOST_APT_PACKAGES=).
HOST_APT_PACKAGES := vagrant vagrant-libvirt
# Parallel workers for the lab tier: tests mostly wait on scaled timers, not CPU.
WORKERS ?= 8
PYTEST_ARGS ?=

.PHONY: setup packages demo test lint unit clean-venv

setup: packages $(VENV)/.installed

# The only step that needs root, and only while a package is missing.
packages:
	@missing=$$(for p in $(APT_PACKAGES) $(HOST_APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ] && [ "$$(id -u)" -ne 0 ]; then \
	  echo "*** missing Debian packages: $$missing; install them once with: sudo make packages"; exit 1; \
	elif [ -n "$$missing" ]; then \
	  echo "*** installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing; \
	fi

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
	$(VENV)/bin/pytest -q -n $(WORKERS) -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
