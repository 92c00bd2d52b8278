# sluice build. `make` builds bin/sluice; `make test` runs every test;
# `make asan` runs them under ASan+UBSan; `make fuzz` builds the fuzzers;
# `make bench` runs the benchmarks against Postfix; `make format` formats;
# `make install` (PREFIX, DESTDIR) and `make deb` package it
# (docs/operations.md, "Running as a service").

PKGS     := libevent libevent_openssl libcares openssl sqlite3 yaml-0.1 jansson libidn2 libcurl
BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
# -Wno-format-truncation: snprintf into bounded buffers truncates on purpose.
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CFLAGS   := -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Wno-format-truncation $(OPT) -g -Isrc \
            $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDLIBS   := $(shell pkg-config --libs $(PKGS)) -lcrypt -lm -pthread
LDFLAGS  += $(EXTRA_LDFLAGS)

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/classify_table.o
UNIT_SRC := $(sort $(shell find tests/unit -name 'test_*.c'))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
# Test-only programs (tests/tools): built with the unit tests, never installed.
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)

.PHONY: FORCE all test unit e2e asan tsan fuzz bench format format-check clean demo layers \
        install deb man

# Installation. The unit and the logrotate file name the service's own
# places (/etc/sluice, /var/lib/sluice) whatever PREFIX is.
PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/sluice
SYSCONFDIR   ?= /etc
UNITDIR      ?= $(PREFIX)/lib/systemd/system
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d

all: bin/sluice

bin/sluice: $(BUILD)/sluice
	@mkdir -p bin
	cp $< $@

# main.c alone carries the version (git describe), so a commit rebuilds one file.
$(BUILD)/src/main.o: src/main.c FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSLUICE_VERSION='"$(VERSION)"' -MMD -MP -c -o $@ $<

FORCE:

$(BUILD)/sluice: $(BUILD)/src/main.o $(BUILD)/libsluice.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libsluice.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# The shipped classification table is data (data/classify.yaml), built in.
$(BUILD)/gen/classify_table.c: data/classify.yaml scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed classify_table_yaml $< > $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -DSLUICE_TESTS_DIR='"$(CURDIR)/tests"' -MMD -MP $(LDFLAGS) -o $@ $< \
	  $(BUILD)/libsluice.a $(LDLIBS) -lcmocka

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(BUILD)/libsluice.a $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d $(UNIT_BIN:=.d) $(TOOL_BIN:=.d)

# Unit tests: each test binary runs in its own process.
unit: $(UNIT_BIN) $(TOOL_BIN) layers
	@tests/run-unit $(UNIT_BIN)

# End-to-end tests start the real peers (tests/world) on loopback; needs root.
e2e: bin/sluice $(TOOL_BIN)
	SLUICE_BIN=$(CURDIR)/$(BUILD)/sluice tests/run-e2e

test: unit e2e

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer, less the
# end-to-end tests marked slow (waiting out a receiver's window or a watch period; the
# code they drive runs under the sanitizers in the unit tests of src/shape).
asan:
	ASAN_OPTIONS=detect_leaks=1:exitcode=86 $(MAKE) BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/sluice unit
	SLUICE_BIN=$(CURDIR)/build-asan/sluice ASAN_OPTIONS=detect_leaks=1:exitcode=86 tests/run-e2e -m "not slow"

# The threaded parts (DKIM signing, password checks, the webhook dispatcher) under ThreadSanitizer:
# the pool's unit test and the DKIM, submission and webhook end-to-end tests.
tsan:
	$(MAKE) BUILD=build-tsan OPT=-O1 EXTRA_CFLAGS="-fsanitize=thread" \
	  EXTRA_LDFLAGS="-fsanitize=thread" build-tsan/sluice build-tsan/tests/unit/util/test_workers
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 build-tsan/tests/unit/util/test_workers
	SLUICE_BIN=$(CURDIR)/build-tsan/sluice TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
	  tests/run-e2e -k "dkim or submission or webhooks"

fuzz:
	$(MAKE) -f fuzz/Makefile

# The benchmark uses the test world too: one at a time with the tests.
bench: bin/sluice
	flock /tmp/sluice-e2e.lock bench/run

# Dependencies flow one way (docs/architecture.md); the check is tested too.
layers:
	@tests/check-layers --self-test
	@tests/check-layers

format:
	clang-format -i $$(find src tests/unit tests/tools fuzz -name '*.[ch]')

format-check:
	clang-format --dry-run --Werror $$(find src tests/unit tests/tools fuzz -name '*.[ch]')

demo: bin/sluice
	scripts/demo

# man/sluice.yaml.5 is generated from docs/configuration.md (committed, so
# that installing needs no Python); man/sluice.1 is written by hand.
man:
	scripts/man-yaml

# The binary, the man pages, the systemd unit (pointing at BINDIR), the
# logrotate file, the docs and examples; the example also as the config,
# unless one is there already (an installed config is never overwritten).
install: bin/sluice
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(LOGROTATEDIR) $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(SYSCONFDIR)/sluice
	install -m 0755 bin/sluice $(DESTDIR)$(BINDIR)/sluice
	install -m 0644 man/sluice.1 $(DESTDIR)$(MANDIR)/man1/sluice.1
	install -m 0644 man/sluice.yaml.5 $(DESTDIR)$(MANDIR)/man5/sluice.yaml.5
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	  packaging/sluice.service.in > $(DESTDIR)$(UNITDIR)/sluice.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/sluice.service
	install -m 0644 packaging/sluice.logrotate $(DESTDIR)$(LOGROTATEDIR)/sluice
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 examples/sluice.yaml examples/welcome.eml $(DESTDIR)$(DOCDIR)/examples/
	[ -e $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.yaml ] || \
	  install -m 0640 examples/sluice.yaml $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.yaml

# A Debian package from a staged install: build/sluice_VERSION_ARCH.deb.
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB_VERSION = 0~git$(shell git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null).$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
DEB_ROOT    = $(BUILD)/deb/root
deb: bin/sluice
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr SYSCONFDIR=/etc \
	  UNITDIR=/lib/systemd/system
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/sluice.1 $(DEB_ROOT)/usr/share/man/man5/sluice.yaml.5
	install -d $(DEB_ROOT)/DEBIAN
	install -m 0755 packaging/debian/postinst packaging/debian/postrm packaging/debian/prerm \
	  $(DEB_ROOT)/DEBIAN/
	printf '/etc/sluice/sluice.yaml\n/etc/logrotate.d/sluice\n' > $(DEB_ROOT)/DEBIAN/conffiles
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	  -e "s|@DEPENDS@|$$(scripts/deb-depends bin/sluice)|" \
	  -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
	  packaging/debian/control.in > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(BUILD)/sluice_$(DEB_VERSION)_$(DEB_ARCH).deb
	@echo "deb: $(BUILD)/sluice_$(DEB_VERSION)_$(DEB_ARCH).deb"

clean:
	rm -rf build build-asan build-tsan build-fuzz bin
