# One place for every workflow. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   := $(CURDIR)/.venv
BIN    := $(VENV)/bin
FIXTURES := $(CURDIR)/spec-fixtures/out

# Every program the tests, benches and the stack start, by its package (tests/unit/test_makefile_packages.py
# checks it): a package that only a Recommends or a hand install brought is missing on a fresh machine.
APT_PACKAGES := python3 python3-venv python3-dev gcc libcap-dev libseccomp2 busybox-static mount \
	iproute2 nftables iptables procps openssl runc crun containerd docker.io podman conmon catatonit skopeo \
	docker-registry containernetworking-plugins buildah docker-compose podman-compose netavark aardvark-dns \
	git

.PHONY: install apt venv entry-points bytecode fixtures demo test bench lint proto clean FORCE

install: apt venv fixtures

apt: .stamp-apt
# the stamp holds the list it installed: a machine set up before a package was added gets it on the next make
ifneq ($(file < .stamp-apt),$(strip $(APT_PACKAGES)))
.stamp-apt: FORCE
endif
.stamp-apt:
	@if command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES); fi
	echo '$(strip $(APT_PACKAGES))' > $@
FORCE:

venv: .stamp-venv
.stamp-venv: .stamp-apt runtime/pyproject.toml shim/pyproject.toml ttrpc/pyproject.toml dockerignore/pyproject.toml daemon/pyproject.toml cli/pyproject.toml proto/pyproject.toml pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e proto -e ttrpc -e dockerignore -e runtime -e shim -e daemon -e cli --group dev
	$(MAKE) entry-points bytecode
	touch $@

# The programs started once per container operation run Python with -I -S (no `site`: ~2 ms each);
# pip's scripts work too, only slower (tools/fast_entry_points.py). Idempotent and quick: `test` and
# `bench` run it too, so a venv made before it existed gets it without a new pip install.
entry-points:
	$(BIN)/python tools/fast_entry_points.py $(BIN) pyrunc containerd-shim-pyrunc-v2 pyctl

# Editable installs ship no bytecode, and PYTHONDONTWRITEBYTECODE may be set: without .pyc files every
# pyrunc and shim start compiles its modules again (~25 ms).
bytecode:
	$(BIN)/python -m compileall -q runtime/src shim/src ttrpc/src dockerignore/src proto/src daemon/src cli/src >/dev/null

fixtures: .stamp-venv
	$(BIN)/python spec-fixtures/build.py --out $(FIXTURES)

# install, build the test image, start pyruncd (no config: its defaults, but a throwaway root and
# socket so nothing is left), load the image, run a container that prints something, stop pyruncd
demo: install
	@set -e; tmp=$$(mktemp -d /tmp/pyruncd-demo.XXXXXX); \
	export PYRUNCD_HOST=unix://$$tmp/pyruncd.sock; \
	$(BIN)/pyruncd --root $$tmp/root -H $$PYRUNCD_HOST 2>$$tmp/pyruncd.log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf $$tmp' EXIT; \
	i=0; until [ -S $$tmp/pyruncd.sock ]; do i=$$((i+1)); [ $$i -lt 200 ] || { cat $$tmp/pyruncd.log; exit 1; }; sleep 0.05; done; \
	$(BIN)/pyctl load -i $(FIXTURES)/busybox.tar; \
	$(BIN)/pyctl run --rm busybox echo "hello from a container: pyctl -> pyruncd -> shim -> pyrunc"

test: install entry-points bytecode
	bash tests/run.sh

bench: install entry-points
	$(BIN)/python bench/runtime_start.py

# What `make lint` checks. ruff: every tree. mypy: the packages listed in TYPED, with pyproject.toml's
# [tool.mypy] (strict; the runtime checked, not strict).
LINTED := runtime shim ttrpc dockerignore daemon cli proto spec-fixtures tests bench tools
TYPED  := pyrunc pyrunc_proto pyrunc_ttrpc pyrunc_dockerignore pyrunc_shim pyruncd pyctl

lint: .stamp-venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy $(addprefix -p ,$(TYPED))

proto: .stamp-venv
	$(BIN)/python proto/generate.py

clean:
	rm -rf $(VENV) .stamp-* $(FIXTURES)
