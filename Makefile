# leopard: `make demo` (an interactive container), `make test` (everything, as root),
# `make check` (types, lint, unit tests; no root, under a minute). Each target installs what it
# needs first and is idempotent.
BUN := node_modules/bun/bin/bun.exe
HELPER := native/build/leopard-helper
# The C launchers bin/leopard-oci and bin/leopard link to (native/launch.c), built with the helper.
NATIVE := $(HELPER) native/build/leopard-oci native/build/leopard
# bin/leopard runs this bundle when no source is newer (nothing to transpile at startup).
BUNDLE := build/cli/leopard.js
# bin/leopard-oci runs this one for create, run and exec.
OCI_BUNDLE := build/cli/leopard-oci.js
# The layer unpacker's worker thread (src/image/unpack-worker.ts), loaded from beside the bundles:
# Bun's bundler leaves `new Worker(url)` alone, so it is an entry point of its own.
UNPACK_WORKER := build/cli/unpack-worker.js
SOURCES := $(shell find src -name '*.ts' ! -name '*.test.ts')
APT_PACKAGES := busybox-static runc uidmap libseccomp2 iproute2 docker-registry skopeo umoci apache2-utils openssl xz-utils zstd podman conmon containerd containernetworking-plugins iptables netavark catatonit docker.io
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: all deps apt-deps check test test-unit test-integration test-cgroup-v2 demo bench clean lint typecheck format

all: deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@$(BUN) --version >/dev/null || node node_modules/bun/install.js
	@touch $@

deps: node_modules/.installed

# System packages: only when one is missing (needs root, as the tests do).
apt-deps:
	@missing=""; \
	command -v busybox >/dev/null || missing="$$missing busybox-static"; \
	command -v runc >/dev/null || missing="$$missing runc"; \
	command -v newuidmap >/dev/null || missing="$$missing uidmap"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	[ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ] || missing="$$missing libseccomp2"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v skopeo >/dev/null || missing="$$missing skopeo"; \
	command -v umoci >/dev/null || missing="$$missing umoci"; \
	command -v htpasswd >/dev/null || missing="$$missing apache2-utils"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v xz >/dev/null || missing="$$missing xz-utils"; \
	command -v zstd >/dev/null || missing="$$missing zstd"; \
	command -v podman >/dev/null || missing="$$missing podman"; \
	command -v conmon >/dev/null || missing="$$missing conmon"; \
	command -v containerd >/dev/null || missing="$$missing containerd"; \
	[ -x /usr/bin/catatonit ] || missing="$$missing catatonit"; \
	[ -x /usr/lib/cni/bridge ] || missing="$$missing containernetworking-plugins"; \
	command -v iptables >/dev/null || missing="$$missing iptables"; \
	[ -x /usr/lib/podman/netavark ] || missing="$$missing netavark"; \
	[ -x /usr/sbin/dockerd ] || missing="$$missing docker.io"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v qemu-system-x86_64 >/dev/null || { \
	  echo "installing: qemu-system-x86"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null; }

# The bundle depends on the worker so that a bundle the launcher finds fresh has a fresh worker
# beside it (leopard-oci never unpacks layers).
$(UNPACK_WORKER): $(SOURCES) | deps
	$(BUN) build src/image/unpack-worker.ts --target=bun --outfile $@.tmp >/dev/null && mv $@.tmp $@

$(BUNDLE): $(SOURCES) $(UNPACK_WORKER) | deps
	$(BUN) build src/cli/leopard.ts --target=bun --outfile $@.tmp >/dev/null && mv $@.tmp $@

$(OCI_BUNDLE): $(SOURCES) | deps
	$(BUN) build src/cli/leopard-oci.ts --target=bun --outfile $@.tmp >/dev/null && mv $@.tmp $@

$(NATIVE) &: native/*.c native/*.h native/Makefile
	$(MAKE) -C native

native/protocol.h: src/protocol/ops.ts src/protocol/gen-header.ts | deps
	$(BUN) src/protocol/gen-header.ts > $@

typecheck: deps
	tsc --noEmit -p .

lint: deps
	biome check .

format: deps
	biome check --write .

test-unit: deps $(NATIVE)
	$(BUN) test src

check: typecheck lint test-unit

test-integration: deps apt-deps $(NATIVE)
	$(BUN) test --timeout 60000 test

# The cgroup tests and the containers' cgroup and walkthrough tests inside a small VM booted
# with cgroup v2 only (Debian's 6.1 kernel under QEMU software emulation, this host's / shared
# read-only over 9p); see scripts/vm/run.ts.
V2_TESTS := src/cgroups test/cgroups test/integration/cgroups.test.ts test/integration/seed.test.ts test/integration/systemd-cgroup.test.ts
# Booted again with systemd as init, on cgroup v2, hybrid and v1, for --systemd-cgroup (scopes
# through systemd's D-Bus API).
SYSTEMD_TESTS := test/integration/systemd-cgroup.test.ts
test-cgroup-v2: deps apt-deps $(NATIVE)
	@# The guest sees this checkout read-only: the tests' busybox root filesystems are made here first.
	@for o in 0 100000; do [ -d build/rootfs/busybox-$$o/mnt ] || scripts/make-rootfs.sh build/rootfs/busybox-$$o $$o; done
	$(BUN) scripts/vm/run.ts --timeout 1200 -- $(BUN) test --timeout 180000 $(V2_TESTS)
	@set -e; for layout in v2 hybrid v1; do \
	  $(BUN) scripts/vm/run.ts --systemd --cgroup $$layout --timeout 600 -- \
	    sh scripts/vm/with-bus.sh $(BUN) test --timeout 180000 $(SYSTEMD_TESTS); \
	done

# Everything; run as root. .ci/run adds up the pass/fail counts of both runs.
test: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE) typecheck lint
	$(BUN) test --timeout 60000 src test
	$(MAKE) test-cgroup-v2

demo: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE)
	@$(BUN) scripts/demo.ts

# The runtime's lifecycle, podman with leopard-oci against runc, and the engine against podman.
bench: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE)
	$(BUN) bench/lifecycle.ts
	$(BUN) bench/podman.ts
	$(BUN) bench/engine.ts

clean:
	$(MAKE) -C native clean
	rm -rf build
