# agent-recovery toolkit: one non-recursive Makefile.
# Targets: all check bench demo install clean (see README.md).

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
CC       ?= cc
BUILD    ?= build
VERSION  := 0.2.0

PKGS     := libprotobuf-c libbsd-overlay jansson libdeflate smartcols
# Debian packages: to build (make, make install), to run, and what the
# tests, benchmarks and the fuzzers add (make check, bench, demo).
BUILD_PKGS := gcc make pkg-config protobuf-c-compiler libprotobuf-c-dev \
            libbsd-dev libjansson-dev libdeflate-dev libsmartcols-dev
RUN_PKGS := libprotobuf-c1 libbsd0 libjansson4 libdeflate0 libsmartcols1
DEB_PKGS := $(BUILD_PKGS) bats bats-assert bats-support \
            bats-file python3 procps util-linux mandoc strace bc jq zsh clang libclang-rt-dev valgrind \
            prometheus

CFLAGS   ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -MMD -MP \
            -DVERSION='"$(VERSION)"' -I$(BUILD)/gen -Ilib \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
override LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lresolv -lm
override LDFLAGS += -pthread -Wl,--as-needed

ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer -DCKPT_FAULT
override LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
override CFLAGS += -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FAULT),1)
override CFLAGS += -DCKPT_FAULT
endif

UNITS    := agent-run.service agent-run.socket agent-executors.slice \
            agent-gc.service agent-gc.timer agent-orphans.service agent-orphans.timer \
            agent-metrics.service agent-metrics.timer
PROGS    := agent-run agent-executor ckpt-write ckpt-inspect recover \
            executor-reconnect executor-kill
PROTOS   := $(wildcard proto/*.proto)
GEN_C    := $(PROTOS:proto/%.proto=$(BUILD)/gen/%.pb-c.c)
GEN_H    := $(GEN_C:.c=.h)
LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_C:.c=.o)
BINS     := $(PROGS:%=$(BUILD)/bin/%)
BENCHES  := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))

FUZZERS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/*.c))
FUZZ_TIME ?= 60

.PHONY: all check bench benches demo install uninstall dist clean deps build-deps stress fuzz fuzzers valgrind systemd-test
.SECONDARY:

# Without the build packages (pkg-config's flags are read when this file
# is), they are installed (as root) or named, then a sub-make builds.
ifeq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && command -v protoc-c >/dev/null && echo yes),yes)
all: $(BINS)
else
all: build-deps
	@$(MAKE) --no-print-directory $(BINS)
endif

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	$(CC) $(filter-out -Wextra,$(CFLAGS)) -c -o $@ $<

$(BUILD)/lib/%.o: lib/%.c $(GEN_H)
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) -c -o $@ $<
	@echo "  CC $@"

$(BUILD)/cmd/%.o: cmd/%.c $(GEN_H)
	@mkdir -p $(@D)
	@$(CC) $(CFLAGS) -c -o $@ $<
	@echo "  CC $@"

$(BUILD)/libckpt.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# A program is cmd/NAME.c, or every file of cmd/NAME/ (a daemon's body:
# agent-run, agent-executor).
prog_objs = $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1).c cmd/$(1)/*.c))
CMD_OBJ  := $(foreach p,$(PROGS),$(call prog_objs,$(p)))

.SECONDEXPANSION:
$(BUILD)/bin/%: $$(call prog_objs,$$*) $(BUILD)/libckpt.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libckpt.a $(GEN_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libckpt.a $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libckpt.a $(GEN_H)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libckpt.a $(LDLIBS)

fuzzers: $(FUZZERS)

# libFuzzer (clang, ASan+UBSan): each target for FUZZ_TIME seconds from its
# seed corpus; findings are written into the corpus directory.
fuzz: deps
	$(MAKE) CC=clang FUZZ=1 BUILD=build/fuzz CFLAGS='-O1 -g' fuzzers
	tests/fuzz/run build/fuzz/fuzz $(FUZZ_TIME)

valgrind: deps
	$(MAKE) all
	tests/valgrind.sh $(BUILD)/bin

# Missing Debian packages ($(1)): installed when root, else the exact
# command, and make stops (69).
define need_pkgs
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:" $$missing; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  apt-get install -y $$missing"; exit 69; \
	  fi; \
	fi
endef

deps:
	$(call need_pkgs,$(DEB_PKGS))

build-deps:
	$(call need_pkgs,$(BUILD_PKGS))

check: deps
	$(MAKE) all
	$(MAKE) BUILD=build/asan SANITIZE=1 CFLAGS='-O1 -g' all
	$(MAKE) FAULT=1 BUILD=build/fault all
	$(MAKE) CC=clang FUZZ=1 BUILD=build/fuzz CFLAGS='-O1 -g' fuzzers
	tests/run-suites build/bin build/asan/bin

# deps first, then a sub-make: pkg-config's flags are read once the
# packages are there.
bench: deps
	$(MAKE) all benches
	tests/bench/run $(BUILD)

benches: $(BENCHES)

# The long proofs: every error sweep at every step, the full restart storm
# (alone, then beside a CPU hog of twice the cores), every power-loss state.
stress: deps
	$(MAKE) all
	$(MAKE) FAULT=1 BUILD=build/fault all
	tests/crash-sweep.sh crash 1
	tests/crash-sweep.sh eio 1
	tests/crash-sweep.sh enospc 1
	STORM_EXECUTORS=200 STORM_UPDATES=50 STORM_RESTARTS=10 tests/storm.py
	STORM_EXECUTORS=200 STORM_UPDATES=50 STORM_RESTARTS=10 tests/starved.sh tests/storm.py
	rm -rf $(BUILD)/powercut
	tests/powercut.py record $(BUILD)/powercut
	tests/powercut.py explore $(BUILD)/powercut --full

demo: deps
	$(MAKE) all
	tests/demo.sh $(BUILD)/bin

# The shipped units under a real systemd (Debian 12, debootstrap +
# systemd-nspawn, as root): install, enable, launch, restart, stop/start,
# kill -9, a tree with a setsid grandchild, the timers, a reboot.
systemd-test: deps
	$(MAKE) all
	tests/systemd/run $(BUILD)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7
	install -m 0644 completions/agent-tools.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/agent-tools
	for p in $(PROGS); do \
	  ln -sf agent-tools $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$p; done
	install -m 0644 completions/_agent-tools $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_agent-tools
	install -d $(DESTDIR)$(PREFIX)/lib/bats/agent-tools $(DESTDIR)$(PREFIX)/share/doc/agent-tools
	install -m 0644 contrib/bats/agent-tools/load.bash $(DESTDIR)$(PREFIX)/lib/bats/agent-tools/load.bash
	install -m 0644 LICENSE README.md NEWS $(DESTDIR)$(PREFIX)/share/doc/agent-tools
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in $(UNITS); do \
	  sed 's|@BINDIR@|$(BINDIR)|g' contrib/systemd/$$u > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; done
	install -d $(DESTDIR)$(SYSCONFDIR)/cron.d
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|^@CRON@|$(if $(filter 1,$(ENABLE_CRON)),,#)|' \
	  contrib/crontab > $(DESTDIR)$(SYSCONFDIR)/cron.d/agent-tools
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/cron.d/agent-tools

# What install put there, and nothing else.  On the running system (no
# DESTDIR, systemd up) the units are stopped and disabled first, and said:
# the executors (agent-executors.slice) and their tasks keep running,
# until `recover --orphans | executor-kill` or a reboot.
UNINSTALL_UNITS := agent-run.socket agent-run.service agent-gc.timer agent-orphans.timer \
            agent-metrics.timer
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then \
	  for u in $(UNINSTALL_UNITS); do \
	    if [ -e $(PREFIX)/lib/systemd/system/$$u ] && systemctl list-unit-files $$u >/dev/null 2>&1; then \
	      echo "systemctl disable --now $$u"; systemctl disable --now $$u 2>/dev/null || true; fi; \
	  done; \
	  echo "the executors (agent-executors.slice) and their tasks keep running: recover --orphans | executor-kill stops them"; \
	fi
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) \
	  $(PROGS:%=$(DESTDIR)$(MANDIR)/man1/%.1) \
	  $(patsubst man/%,$(DESTDIR)$(MANDIR)/man7/%,$(wildcard man/*.7)) \
	  $(PROGS:%=$(DESTDIR)$(PREFIX)/share/bash-completion/completions/%) \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/agent-tools \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_agent-tools \
	  $(DESTDIR)$(PREFIX)/lib/bats/agent-tools/load.bash \
	  $(DESTDIR)$(PREFIX)/share/doc/agent-tools/LICENSE \
	  $(DESTDIR)$(PREFIX)/share/doc/agent-tools/README.md \
	  $(DESTDIR)$(PREFIX)/share/doc/agent-tools/NEWS \
	  $(UNITS:%=$(DESTDIR)$(PREFIX)/lib/systemd/system/%) \
	  $(DESTDIR)$(SYSCONFDIR)/cron.d/agent-tools
	-rmdir $(DESTDIR)$(PREFIX)/lib/bats/agent-tools $(DESTDIR)$(PREFIX)/share/doc/agent-tools 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then \
	  echo "systemctl daemon-reload"; systemctl daemon-reload || true; fi

# A versioned tarball of the tree as committed (git archive), which
# builds and passes make check once unpacked.
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=agent-tools-$(VERSION)/ \
	  -o $(BUILD)/agent-tools-$(VERSION).tar.gz HEAD
	@echo $(BUILD)/agent-tools-$(VERSION).tar.gz

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)
