# leopard: `make demo` (an interactive container), `make test` (everything, as root),
# `make check` (types, lint, unit tests; under a minute; as root: the helper's tests mount). Each target installs what it
# needs first and is idempotent.
BUN := node_modules/bun/bin/bun.exe
HELPER := native/build/leopard-helper
# The Node-API module src/sys/libc.ts makes its system calls through (native/sys.c).
SYS_NODE := native/build/leopard-sys.node
# The C launchers bin/leopard-oci and bin/leopard link to (native/launch.c), built with the helper.
NATIVE := $(HELPER) native/build/leopard-oci native/build/leopard native/build/leopard-keeper $(SYS_NODE)
# bin/leopard runs this bundle when no source is newer (nothing to transpile at startup).
BUNDLE := build/cli/leopard.js
# bin/leopard-oci runs this one, and for the verbs engines call most the light bundles
# (src/cli/oci-light.ts says which verb runs from which): state, kill and list from OCI_LIGHT,
# start and delete from OCI_LIFE. Both leave the cgroup manager out: CGROUP_OPS, a bundle of its
# own beside them that `kill --all` and a delete that finds processes or a scope load
# (src/runtime/cgroup-ops.ts).
OCI_BUNDLE := build/cli/leopard-oci.js
OCI_LIGHT := build/cli/leopard-oci-light.js
OCI_LIFE := build/cli/leopard-oci-life.js
CGROUP_OPS := build/cli/cgroup-ops.js
LIGHT_BUNDLES := $(OCI_LIGHT) $(OCI_LIFE) $(CGROUP_OPS)
# The CLI bundles are compiled to JSC bytecode (<bundle>.jsc beside each: Bun loads it instead of
# parsing; a direct call starts ~30% sooner). LEOPARD_BUNDLE tells the code it runs from a bundle
# (src/util/layout.ts: import.meta.url names the build's sources in a bytecode bundle).
BUNDLE_FLAGS := --target=bun --bytecode --define LEOPARD_BUNDLE=true
# $(call bundle,ENTRY,OUT[,FLAGS]): OUT and OUT.jsc, the bytecode first, so a fresh OUT has its own
# beside it.
define bundle
rm -rf $(2).d && $(BUN) build $(1) $(BUNDLE_FLAGS) $(3) --outdir $(2).d >/dev/null && \
mv $(2).d/$(notdir $(basename $(1))).js.jsc $(2).jsc && mv $(2).d/$(notdir $(basename $(1))).js $(2) && rmdir $(2).d
endef
# $(call inputs,ENTRIES,OUT): OUT.inputs, the sources OUT is built from (src/cli/gen-bundle-inputs.ts):
# in a checkout the launcher stats these to tell a stale bundle, instead of walking src/.
define inputs
$(BUN) src/cli/gen-bundle-inputs.ts $(1) > $(2).inputs.tmp && mv $(2).inputs.tmp $(2).inputs
endef
# make install: a self-contained tree; nothing is read from this checkout afterwards.
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR := $(PREFIX)/lib/leopard
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
# The user manager's units (rootless socket activation); systemd's user manager reads
# /usr/local/lib/systemd/user and /usr/lib/systemd/user (`systemd-analyze --user unit-paths`).
SYSTEMD_USER_UNIT_DIR ?= $(PREFIX)/lib/systemd/user
UNITS := leopard-oci.socket leopard-oci.service leopard.socket leopard.service
# The layer unpacker's worker thread (src/image/unpack-worker.ts), loaded from beside the bundles:
# Bun's bundler leaves `new Worker(url)` alone, so it is an entry point of its own.
UNPACK_WORKER := build/cli/unpack-worker.js
SOURCES := $(shell find src -name '*.ts' ! -name '*.test.ts')
APT_PACKAGES := busybox-static runc uidmap passt slirp4netns libseccomp2 iproute2 docker-registry skopeo umoci apache2-utils openssl xz-utils zstd podman conmon containerd containernetworking-plugins iptables netavark catatonit docker.io dbus-user-session
# /usr/sbin and /sbin too: an ordinary user's PATH lacks them (runc, iptables), and `make demo`
# runs rootless as a user.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH):/usr/sbin:/sbin

.PHONY: all deps apt-deps check test test-unit test-integration test-cgroup-v2 demo bench clean lint typecheck format install uninstall

all: deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE) $(LIGHT_BUNDLES)

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
	command -v slirp4netns >/dev/null || missing="$$missing slirp4netns"; \
	command -v fuse-overlayfs >/dev/null || missing="$$missing fuse-overlayfs"; \
	command -v pasta >/dev/null || missing="$$missing passt"; \
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
	[ -e /usr/lib/systemd/user/dbus.socket ] || missing="$$missing dbus-user-session"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" != 0 ]; then \
	  echo "missing:$$missing (run make as root once to install them)"; exit 1; \
	fi; \
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
	$(BUN) build src/image/unpack-worker.ts --target=bun --define LEOPARD_BUNDLE=true --outfile $@.tmp >/dev/null && mv $@.tmp $@

# The light bundles first: the launcher checks the sources against <name>.js alone.
$(BUNDLE): $(SOURCES) $(UNPACK_WORKER) | deps
	$(call bundle,src/cli/leopard.ts,$@)
	$(call inputs,src/cli/leopard.ts src/image/unpack-worker.ts,$@)

# kill.ts and lifecycle.ts require ./cgroup-ops.js: external here, found beside the bundle at run
# time.
$(OCI_LIGHT): $(SOURCES) $(CGROUP_OPS) | deps
	$(call bundle,src/cli/leopard-oci-light.ts,$@,--external '*/cgroup-ops.js')

$(OCI_LIFE): $(SOURCES) $(CGROUP_OPS) | deps
	$(call bundle,src/cli/leopard-oci-life.ts,$@,--external '*/cgroup-ops.js')

$(CGROUP_OPS): $(SOURCES) | deps
	$(call bundle,src/runtime/cgroup-ops.ts,$@)

$(OCI_BUNDLE): $(SOURCES) $(LIGHT_BUNDLES) | deps
	$(call bundle,src/cli/leopard-oci.ts,$@)
	$(call inputs,src/cli/leopard-oci.ts,$@)

$(NATIVE) &: native/*.c native/*.h native/Makefile | deps
	$(MAKE) -C native

native/protocol.h: src/protocol/ops.ts src/protocol/gen-header.ts | deps
	$(BUN) src/protocol/gen-header.ts > $@

native/wire.h: src/serve/wire.ts src/serve/gen-wire-header.ts | deps
	$(BUN) src/serve/gen-wire-header.ts > $@

native/launch-verbs.h: src/cli/oci-light.ts src/cli/oci-light-verbs.ts src/cli/oci-life.ts src/cli/gen-launch-header.ts src/serve/serve-dir.ts | deps
	$(BUN) src/cli/gen-launch-header.ts > $@

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
V2_TESTS := src/cgroups test/cgroups test/integration/cgroups.test.ts test/integration/exec-cgroup.test.ts test/integration/seed.test.ts test/integration/systemd-cgroup.test.ts
# Booted again with systemd as init, on cgroup v2, hybrid and v1, for --systemd-cgroup (scopes
# through systemd's D-Bus API), socket activation of an installed leopard (make install into
# the guest's tmpfs: the bundles must be built here first) and a test user's own systemd manager
# (user units, a delegated cgroup v2 subtree, rootless --systemd-cgroup on the user's bus from
# dbus-user-session). The v2 boot takes 5-8 min under emulation.
SYSTEMD_TESTS := test/integration/systemd-cgroup.test.ts test/serve/activation.systemd.test.ts \
  test/rootless/user-manager.systemd.test.ts
test-cgroup-v2: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE) $(LIGHT_BUNDLES)
	@# The guest sees this checkout read-only: the tests' busybox root filesystems are made here first.
	@for o in 0 100000; do [ -d build/rootfs/busybox-$$o/mnt ] || scripts/make-rootfs.sh build/rootfs/busybox-$$o $$o; done
	$(BUN) scripts/vm/run.ts --timeout 1200 -- $(BUN) test --timeout 180000 $(V2_TESTS)
	@set -e; for layout in v2 hybrid v1; do \
	  $(BUN) scripts/vm/run.ts --systemd --cgroup $$layout --timeout 900 -- \
	    sh scripts/vm/with-bus.sh $(BUN) test --timeout 180000 $(SYSTEMD_TESTS); \
	done

# Everything; run as root. .ci/run adds up the pass/fail counts of both runs.
test: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE) typecheck lint
	$(BUN) test --timeout 60000 src test
	$(MAKE) test-cgroup-v2

demo: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE)
	@$(BUN) scripts/demo.ts

# The runtime's lifecycle, podman with leopard-oci against runc, and the engine against podman.
# Then build and push against podman build and podman push.
bench: deps apt-deps $(NATIVE) $(BUNDLE) $(OCI_BUNDLE) $(LIGHT_BUNDLES)
	$(BUN) bench/lifecycle.ts
	$(BUN) bench/podman.ts
	$(BUN) bench/engine.ts
	$(BUN) bench/serve-memory.ts
	$(BUN) bench/build.ts

# The installed tree (relocatable: the launchers find lib/leopard beside their bin/):
#   $(PREFIX)/bin/leopard-oci, leopard                    the launchers
#   $(PREFIX)/lib/leopard/bun                             the pinned Bun
#   $(PREFIX)/lib/leopard/*.js, *.jsc                     the bundles (bytecode beside each)
#   $(PREFIX)/lib/leopard/leopard-helper                  the C helper
#   $(PREFIX)/lib/leopard/leopard-keeper                  serve's worker keeper (native/keeper.c)
#   $(PREFIX)/lib/leopard/leopard-sys.node                the system calls of TypeScript (native/sys.c)
#   $(PREFIX)/lib/leopard/share/seccomp/default.json      the default seccomp profile
#   $(SYSTEMD_UNIT_DIR)/leopard{-oci,}.{socket,service}   socket activation (share/systemd/*.in)
#   $(SYSTEMD_USER_UNIT_DIR)/leopard{-oci,}.{socket,service}  the same for a user (share/systemd/user/*.in)
# `make uninstall` (same PREFIX, DESTDIR, SYSTEMD_UNIT_DIR and SYSTEMD_USER_UNIT_DIR) removes exactly these.
INSTALLED_LIB := bun leopard-helper leopard-keeper leopard-sys.node leopard-oci.js leopard-oci.js.jsc leopard-oci-light.js leopard-oci-light.js.jsc \
  leopard-oci-life.js leopard-oci-life.js.jsc cgroup-ops.js cgroup-ops.js.jsc \
  leopard.js leopard.js.jsc unpack-worker.js share/seccomp/default.json
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/share/seccomp $(DESTDIR)$(SYSTEMD_UNIT_DIR) \
	  $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)
	install -m 0755 $(BUN) $(DESTDIR)$(LIBDIR)/bun
	install -m 0755 $(HELPER) $(DESTDIR)$(LIBDIR)/leopard-helper
	install -m 0755 native/build/leopard-keeper $(DESTDIR)$(LIBDIR)/leopard-keeper
	install -m 0644 $(SYS_NODE) $(DESTDIR)$(LIBDIR)/leopard-sys.node
	install -m 0644 $(OCI_BUNDLE) $(OCI_BUNDLE).jsc $(BUNDLE) $(BUNDLE).jsc \
	  $(foreach b,$(LIGHT_BUNDLES),$(b) $(b).jsc) \
	  $(UNPACK_WORKER) $(DESTDIR)$(LIBDIR)/
	install -m 0644 share/seccomp/default.json $(DESTDIR)$(LIBDIR)/share/seccomp/default.json
	@# The launchers last: one that finds lib/leopard/bun expects everything else there.
	install -m 0755 native/build/leopard-oci $(DESTDIR)$(PREFIX)/bin/leopard-oci
	install -m 0755 native/build/leopard $(DESTDIR)$(PREFIX)/bin/leopard
	@for u in $(UNITS); do \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g' share/systemd/$$u.in > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u.tmp && \
	  chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u.tmp && mv $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u.tmp $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$u; \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g' share/systemd/user/$$u.in > $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/$$u.tmp && \
	  chmod 0644 $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/$$u.tmp && mv $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/$$u.tmp $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/$$u; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/leopard-oci $(DESTDIR)$(PREFIX)/bin/leopard
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(INSTALLED_LIB))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMD_UNIT_DIR)/,$(UNITS))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMD_USER_UNIT_DIR)/,$(UNITS))
	-rmdir $(DESTDIR)$(LIBDIR)/share/seccomp $(DESTDIR)$(LIBDIR)/share $(DESTDIR)$(LIBDIR) 2>/dev/null

clean:
	$(MAKE) -C native clean
	rm -rf build
