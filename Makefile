# libsafetensors - the one build.
#   make            library (shared + static) and st-inspect, in build/
#   make demo       build, generate a sample model, inspect it
#   make check      every test: gcc -Werror build, ASan+UBSan build, clang build,
#                   header as C89/C99/C++, exported symbols, install + pkg-config
#   make install    PREFIX=/usr/local DESTDIR=  (uninstall: same variables)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=

CC      ?= cc
B       ?= build
OPT     ?= -O2 -g
WERROR  ?=
SAN     ?=
WARN     = -Wall -Wextra -Wshadow -Wcast-qual -Wstrict-prototypes -Wvla \
           -Wmissing-prototypes -Wpointer-arith -Wformat=2
CSTD    ?= -std=c99
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
BASE_CFLAGS = $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude
LIB_CFLAGS  = $(BASE_CFLAGS) -fPIC -fvisibility=hidden -pthread -Ilib
LDFLAGS_ALL = $(SANFLAGS) -pthread $(LDFLAGS)

HDR := include/safetensors.h
VERSION_MAJOR := $(shell sed -n 's/^\#define ST_VERSION_MAJOR \([0-9][0-9]*\).*/\1/p' $(HDR))
VERSION_MINOR := $(shell sed -n 's/^\#define ST_VERSION_MINOR \([0-9][0-9]*\).*/\1/p' $(HDR))
VERSION_PATCH := $(shell sed -n 's/^\#define ST_VERSION_PATCH \([0-9][0-9]*\).*/\1/p' $(HDR))
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME  := libsafetensors.so.$(VERSION_MAJOR)

LIB_SRCS := $(sort $(wildcard lib/*.c))
LIB_OBJS := $(patsubst lib/%.c,$(B)/obj/%.o,$(LIB_SRCS))
LIB_HDRS := $(HDR) $(wildcard lib/*.h)

SHARED := $(B)/libsafetensors.so.$(VERSION)
STATIC := $(B)/libsafetensors.a

TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(wildcard tests/support/*.c)
TEST_HDRS := $(wildcard tests/support/*.h)

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(B)/%,$(EXAMPLE_SRCS))

.PHONY: all lib examples demo check check-deps deps tests run-tests clean \
        install uninstall check-asan check-clang check-header check-symbols \
        check-install

all: deps lib examples

deps:
	@sh tests/deps.sh build

check-deps:
	@sh tests/deps.sh check

lib: $(SHARED) $(STATIC)

$(B)/obj/%.o: lib/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(SHARED): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $(LIB_OBJS) $(LDFLAGS_ALL)
	ln -sf libsafetensors.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libsafetensors.so

$(STATIC): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

# Examples use the public header only and link the static library, so they run
# from the build tree without an install.
$(B)/%: examples/%.c $(STATIC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS_ALL)

examples: $(EXAMPLE_BINS)

demo: all
	$(B)/make-sample $(B)/sample.safetensors
	$(B)/st-inspect $(B)/sample.safetensors

# ---------------------------------------------------------------- tests
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

$(B)/tests/%: tests/%.c $(TEST_SUPPORT) $(TEST_HDRS) $(STATIC) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Ilib -Itests/support $(CMOCKA_CFLAGS) $(CFLAGS) -o $@ \
	    $< $(TEST_SUPPORT) $(STATIC) $(CMOCKA_LIBS) -pthread $(LDFLAGS_ALL)

tests: $(TEST_BINS) examples

# Runs every suite of this build variant; prints one summary line.
run-tests: tests
	@sh tests/run.sh $(B)
	@sh tests/check_inspect.sh $(B)

check: check-deps
	$(MAKE) --no-print-directory B=build/check WERROR=1 run-tests
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-clang
	$(MAKE) --no-print-directory check-header
	$(MAKE) --no-print-directory check-symbols
	$(MAKE) --no-print-directory check-install
	@echo "check: all stages passed"

check-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory B=build/asan SAN=1 WERROR=1 OPT="-O1 -g" run-tests

check-clang:
	@if command -v clang >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory B=build/clang CC=clang WERROR=1 run-tests; \
	else echo "check-clang: clang not installed, skipped"; fi

check-header:
	@sh tests/check_header.sh

check-symbols: lib
	@sh tests/check_symbols.sh $(SHARED)

check-install:
	@sh tests/check_install.sh

# ---------------------------------------------------------------- install
safetensors.pc: safetensors.pc.in $(HDR)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    safetensors.pc.in > $(B)/safetensors.pc

install: lib examples safetensors.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HDR) $(DESTDIR)$(INCLUDEDIR)/safetensors.h
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libsafetensors.so.$(VERSION)
	ln -sf libsafetensors.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsafetensors.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libsafetensors.a
	install -m 644 $(B)/safetensors.pc $(DESTDIR)$(PKGCONFIGDIR)/safetensors.pc
	install -m 755 $(B)/st-inspect $(DESTDIR)$(BINDIR)/st-inspect

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/safetensors.h \
	    $(DESTDIR)$(LIBDIR)/libsafetensors.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsafetensors.so \
	    $(DESTDIR)$(LIBDIR)/libsafetensors.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/safetensors.pc $(DESTDIR)$(BINDIR)/st-inspect

clean:
	rm -rf build
