# ckptd - see README.md.  `make test` on a fresh Debian machine as root
# installs the build dependencies, builds and runs every test.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

CC      ?= cc
PKG_CONFIG ?= pkg-config
PKGS    := yaml-0.1 libzstd json-c libarchive
B       ?= build

# Debian packages the build and the tests need (checked by `make deps`).
DEBS    := gcc make pkg-config libyaml-dev libzstd-dev libjson-c-dev \
           libarchive-dev libcmocka-dev zstd

WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla
ifeq ($(CI),true)
WARN    += -Werror
endif
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -Iinclude \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
TEST_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

LIB_SRC := $(sort $(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
PROGS   := $(B)/ckptd $(B)/ckptctl
TOOLS   := $(patsubst tests/tools/%.c,$(B)/tools/%,$(sort $(filter-out tests/tools/libfault.c,$(wildcard tests/tools/*.c)))) \
           $(B)/tools/libfault.so
CKPTD_OBJ := $(patsubst %.c,$(B)/%.o,$(sort $(wildcard cmd/ckptd/*.c)))
CTL_OBJ := $(patsubst %.c,$(B)/%.o,$(sort $(wildcard cmd/ckptctl/*.c)))

.PHONY: all deps test torture asan fuzz fuzz-deps demo bench install uninstall clean

all: deps $(PROGS)

deps:
	@sh tests/deps.sh $(DEBS)

$(B)/src/%.o: src/%.c $(wildcard include/ckptd/*.h) | $(B)/src
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/cmd/%.o: cmd/%.c $(wildcard include/ckptd/*.h cmd/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libckptd.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/ckptd: $(CKPTD_OBJ) $(B)/libckptd.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/ckptctl: $(CTL_OBJ) $(B)/libckptd.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libckptd.a $(wildcard include/ckptd/*.h tests/unit/*.h tests/fuzz/*.h) | $(B)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libckptd.a $(LIBS) $(TEST_LIBS)

# Small programs the end-to-end tests use (an sd_notify listener, a zip writer).
$(B)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# The fault-injection shim (LD_PRELOAD), for the tests only: plain flags,
# no sanitizer, never installed.
$(B)/tools/libfault.so: tests/tools/libfault.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -shared -fPIC -o $@ $< -ldl

$(B)/src $(B)/tests:
	mkdir -p $@

# Unit tests (cmocka, TAP) and end-to-end tests (the real binaries on real
# temp directories); tests/run.sh prints the closing "N passed, N failed".
test: deps $(PROGS) $(UNIT_BIN) $(TOOLS)
	@sh tests/run.sh $(B)

# Crash torture: the simulated job TORTURE_ITERATIONS times, the daemon
# killed with SIGKILL at random moments and restarted, the invariants
# checked after each (TORTURE_SEED repeats a run; see tests/torture.sh).
TORTURE_ITERATIONS ?= 50
torture: deps $(PROGS)
	@CKPTD_BUILD=$(abspath $(B)) bash tests/torture.sh $(TORTURE_ITERATIONS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	$(MAKE) --no-print-directory B=build/asan EXTRA_CFLAGS="$(SAN_FLAGS)" CFLAGS="-O1 -g" test

# Fuzzing (libFuzzer): each target in tests/fuzz/fuzz_NAME.c runs for
# FUZZ_SECONDS on a copy of its seed corpus (tests/fuzz/corpus/NAME is
# never written to); crashes land in build/fuzz/crash-NAME-*.  The
# library is compiled again with clang and the sanitizers, apart from the
# gcc build.  A crash's input goes to tests/fuzz/regress/NAME/, which
# `make test` replays (tests/unit/test_fuzz_regress.c).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DEBS := clang libclang-rt-14-dev
FUZZ_TARGETS := config csv jsonl pattern metrics
FZ := build/fuzz
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(FUZZ_SAN) -Iinclude \
              $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJ := $(LIB_SRC:%.c=$(FZ)/%.o)
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FZ)/fuzz_%)
.SECONDARY: $(FUZZ_OBJ)

$(FZ)/src/%.o: src/%.c $(wildcard include/ckptd/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(wildcard tests/fuzz/*.h include/ckptd/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(LIBS)

fuzz-deps:
	@sh tests/deps.sh $(DEBS) $(FUZZ_DEBS)

fuzz: fuzz-deps $(FUZZ_BIN)
	@fail=0; for t in $(FUZZ_TARGETS); do \
		rm -rf $(FZ)/corpus-$$t && mkdir -p $(FZ)/corpus-$$t && \
		cp tests/fuzz/corpus/$$t/* $(FZ)/corpus-$$t/ && \
		echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
		$(FZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(FZ)/crash-$$t- $(FZ)/corpus-$$t >$(FZ)/log-$$t 2>&1; \
		rc=$$?; \
		grep -E '^Done [0-9]+ runs' $(FZ)/log-$$t | sed "s/^/fuzz $$t: /"; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' $(FZ)/log-$$t | sed "s/^/fuzz $$t: /"; \
		if [ $$rc -ne 0 ]; then fail=1; \
			echo "fuzz $$t: FAILED (exit $$rc), see $(FZ)/log-$$t"; \
			grep -E 'SUMMARY|Test unit written' $(FZ)/log-$$t | sed "s/^/fuzz $$t: /"; fi; \
	done; exit $$fail

demo: deps $(PROGS)
	@sh examples/demo.sh $(B)

# Throughput figures (never assertions: the machines are shared).
bench: deps $(PROGS)
	@sh bench/pick.sh $(B)

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/ckptd $(DESTDIR)$(UNITDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0644 config/ckptd.yaml $(DESTDIR)$(SYSCONFDIR)/ckptd/ckptd.yaml.example
	for u in systemd/*.service; do [ -e "$$u" ] || continue; \
		install -m 0644 "$$u" $(DESTDIR)$(UNITDIR)/; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ckptd $(DESTDIR)$(BINDIR)/ckptctl
	rm -f $(DESTDIR)$(SYSCONFDIR)/ckptd/ckptd.yaml.example
	rm -f $(DESTDIR)$(UNITDIR)/ckptd.service $(DESTDIR)$(UNITDIR)/ckptd@.service

clean:
	rm -rf build
