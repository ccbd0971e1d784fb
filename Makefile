# libsafetensors - the one build.
#   make            library (shared + static) and st-inspect, in build/
#   make demo       build, generate a sample model, inspect it
#   make check      every test: gcc -Werror build, ASan+UBSan build, fuzz corpus and
#                   regression replay, clang build, lint (pedantic, cppcheck,
#                   clang-tidy), header as C89/C99/C++, exported symbols, install +
#                   pkg-config, Python binding, Python package (check-python: pip
#                   install ./python in a venv + pytest), C++ example, CMake package, man pages,
#                   valgrind, differential test against a model of FORMAT.md, gcc -m32,
#                   s390x (big-endian) under qemu, Windows x64 (mingw-w64 DLL and
#                   static builds, suites and st-inspect under wine), the portable
#                   POSIX branch of the platform layer, a 60 s libFuzzer run, the
#                   amalgamation (its own build of every suite), CMake vendoring
#                   (add_subdirectory, FetchContent, ctest, install)
#   make amalgamate build/amalgamation/safetensors.c + safetensors.h (one file)
#   make windows    the Windows x64 DLL, static library and programs, in build/windows/
#   make fuzz       libFuzzer for FUZZ_TIME seconds (fuzz-index, fuzz-reader,
#                   fuzz-write: the other targets);  make bench: the benchmark
#                   (then make bench-python: the Python package against numpy.fromfile)
#   make install    PREFIX=/usr/local DESTDIR=  (uninstall: same variables)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR   ?= $(LIBDIR)/cmake/safetensors
MANDIR     ?= $(PREFIX)/share/man
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

# The amalgamation (tests/amalgamate.sh). AMALG=1: this build's library is the
# amalgamation, one object compiled without -Ilib, -Iinclude or
# -D_POSIX_C_SOURCE (it must bring its own); the suites still see lib/
# headers for declarations (make check-amalgamation).
AMALG_DIR := build/amalgamation
AMALG     ?=
ifeq ($(AMALG),1)
LIB_OBJS := $(B)/obj/safetensors-amalgamation.o
endif

SHARED := $(B)/libsafetensors.so.$(VERSION)
STATIC := $(B)/libsafetensors.a

TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
TEST_SUPPORT := $(wildcard tests/support/*.c)
TEST_HDRS := $(wildcard tests/support/*.h)

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(B)/%,$(EXAMPLE_SRCS))

.PHONY: all lib examples demo check check-deps deps tests run-tests clean fuzz fuzz-replay \
        check-valgrind check-fuzz check-diff fuzz-index fuzz-reader fuzz-write \
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

$(B)/obj/safetensors-amalgamation.o: $(AMALG_DIR)/safetensors.c $(AMALG_DIR)/safetensors.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -fPIC -fvisibility=hidden -pthread $(CFLAGS) \
	    -c -o $@ $<

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

.PHONY: amalgamate
amalgamate: $(AMALG_DIR)/safetensors.c

$(AMALG_DIR)/safetensors.c: $(LIB_SRCS) $(LIB_HDRS) tests/amalgamate.sh
	@sh tests/amalgamate.sh $(AMALG_DIR)

$(AMALG_DIR)/safetensors.h: $(AMALG_DIR)/safetensors.c ;

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

# Reference values for tests/test_convert.c, computed from the formats'
# definitions by a script independent of lib/convert.c (shared by all variants).
build/convert_ref.bin: tests/convert_ref.py
	@mkdir -p $(@D)
	python3 tests/convert_ref.py $@

tests: $(TEST_BINS) examples build/convert_ref.bin

# Runs every suite of this build variant; prints one summary line.
run-tests: tests
	@sh tests/run.sh $(B)
	@sh tests/check_inspect.sh $(B)
	@sh tests/check_convert.sh $(B)

check: check-deps
	$(MAKE) --no-print-directory B=build/check WERROR=1 run-tests
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory fuzz-replay
	$(MAKE) --no-print-directory check-clang
	$(MAKE) --no-print-directory check-lint
	$(MAKE) --no-print-directory check-header
	$(MAKE) --no-print-directory check-symbols
	$(MAKE) --no-print-directory check-install
	$(MAKE) --no-print-directory B=build/check WERROR=1 check-ecosystem
	$(MAKE) --no-print-directory check-python
	$(MAKE) --no-print-directory check-valgrind
	$(MAKE) --no-print-directory check-diff
	$(MAKE) --no-print-directory check-m32
	$(MAKE) --no-print-directory check-s390x
	$(MAKE) --no-print-directory check-windows
	$(MAKE) --no-print-directory check-nognu
	$(MAKE) --no-print-directory check-portable
	$(MAKE) --no-print-directory check-tokwin
	$(MAKE) --no-print-directory check-fuzz
	$(MAKE) --no-print-directory check-amalgamation
	$(MAKE) --no-print-directory check-vendor
	@echo "check: all stages passed; the cmocka suites of the gcc -Werror build:"
	@echo "check: $$(cat build/check/test-summary)"

check-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory B=build/asan SAN=1 WERROR=1 OPT="-O1 -g" run-tests

# the library (through st-inspect) against an independent Python model of
# FORMAT.md, on generated and mutated files (DIFF_CASES, seed DIFF_SEED); then
# the writer (st-convert rewrite) on those the model accepts, against the
# reference layout computed from the model's listing (FORMAT.md section 7)
DIFF_CASES ?= 4000
DIFF_SEED  ?= 1
check-diff:
	@$(MAKE) --no-print-directory B=build/check WERROR=1 examples >/dev/null
	python3 tests/diff/run_diff.py --inspect build/check/st-inspect --offsets \
	    --cases $(DIFF_CASES) --seed $(DIFF_SEED)
	python3 tests/diff/run_write_diff.py --convert build/check/st-convert \
	    --cases $(DIFF_CASES) --seed $(DIFF_SEED)

# memcheck over every suite of the plain gcc build (built by the first stage)
check-valgrind:
	@$(MAKE) --no-print-directory B=build/check WERROR=1 tests >/dev/null
	ST_TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
	    sh tests/run.sh build/check

# a short libFuzzer run (FUZZ_TIME seconds, 60 by default) from the kept corpus
check-fuzz:
	@mkdir -p build/fuzz
	@$(MAKE) --no-print-directory fuzz FUZZ_CORPUS=build/fuzz/ci-corpus FUZZ_BIN=build/fuzz/ci_fuzz_open \
	    FUZZ_ARGS="-print_final_stats=1 $(FUZZ_ARGS)" >build/fuzz/ci.log 2>&1; rc=$$?; \
	    grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|^Done|ERROR|SUMMARY" build/fuzz/ci.log; \
	    if [ $$rc -ne 0 ]; then tail -n 60 build/fuzz/ci.log; \
	        echo "check-fuzz: the fuzzer failed (exit $$rc); the input is saved under build/fuzz/"; exit 1; fi
	@$(MAKE) --no-print-directory fuzz-index FUZZ_TIME=$(FUZZ_INDEX_TIME) \
	    FUZZ_ARGS="-print_final_stats=1 $(FUZZ_ARGS)" >build/fuzz/ci-index.log 2>&1; rc=$$?; \
	    grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)|^Done|ERROR|SUMMARY" build/fuzz/ci-index.log; \
	    if [ $$rc -ne 0 ]; then tail -n 60 build/fuzz/ci-index.log; \
	        echo "check-fuzz: the index fuzzer failed (exit $$rc); the input is saved under build/fuzz/"; exit 1; fi

# the amalgamation as the library of every suite (gcc -std=c99 -pedantic
# -Werror; the run.sh count line), then tests/check_amalgamation.sh: a bare
# `cc -c`, exports, a program built from the two files alone, regeneration
.PHONY: check-amalgamation check-vendor
check-amalgamation: amalgamate
	$(MAKE) --no-print-directory B=build/amalgamation-check AMALG=1 WERROR=1 CFLAGS=-pedantic \
	    run-tests lib
	@sh tests/check_amalgamation.sh build/amalgamation-check

# CMake: the library's own build with ctest, its install against make
# install's (of the build/check variant), add_subdirectory and FetchContent
# consumers (tests/check_vendor.sh)
check-vendor:
	@$(MAKE) --no-print-directory B=build/check WERROR=1 lib examples >/dev/null
	@sh tests/check_vendor.sh build/check

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

# Python binding (examples/python), C++ example (examples/cpp), CMake package,
# man pages: tests/check_ecosystem.sh.
CXX_WARN = -Wall -Wextra -Wshadow -Wcast-qual -Wpedantic $(if $(filter 1,$(WERROR)),-Werror)

$(B)/cpp-inspect: examples/cpp/inspect.cpp $(STATIC) $(HDR)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(OPT) $(CXX_WARN) $(SANFLAGS) -Iinclude $(CXXFLAGS) -o $@ $< \
	    $(STATIC) $(LDFLAGS_ALL)

.PHONY: check-ecosystem cmake-config
check-ecosystem: lib examples $(B)/cpp-inspect
	@sh tests/check_ecosystem.sh $(B)

# The Python package (python/): pip install ./python into a fresh venv under
# build/, offline (--no-index --no-build-isolation, the system's setuptools),
# then its pytest suite against the installed copy (tests/check_python.sh).
.PHONY: check-python
check-python:
	@sh tests/check_python.sh build/python-venv

# ---------------------------------------------------------------- lint
# check-lint: the library, suites and examples built with -std=c99 -pedantic
# -Werror by gcc and by clang; cppcheck over lib/, examples/ and tests/support/
# in two configurations that between them take both sides of every #if in lib/
# (the gcc/glibc x86-64 build, and a non-GNU C99 compiler on a non-Linux POSIX
# host with unknown byte order); clang-tidy (14 or later) over lib/ with the
# checks of .clang-tidy. Any finding fails. Suppressions are inline, each with
# its reason; variableScope (declarations at the top of a block are this code's
# style) is the one cppcheck check left out.
LINT_C_SRCS    = $(LIB_SRCS) $(EXAMPLE_SRCS) $(sort $(TEST_SUPPORT))
CPPCHECK_FLAGS = --enable=warning,style,performance,portability --std=c99 --platform=unix64 \
                 --library=posix --inline-suppr --suppress=variableScope -q --error-exitcode=1 \
                 -Iinclude -Ilib -Itests/support -D_POSIX_C_SOURCE=200809L
CPPCHECK_GNU   = --library=gnu -D__linux__ -D__GNUC__=12 -D__GLIBC__=2 -D__GLIBC_MINOR__=36 \
                 -D__ORDER_LITTLE_ENDIAN__=1234 -D__ORDER_BIG_ENDIAN__=4321 \
                 -D__BYTE_ORDER__=1234 -DO_NOFOLLOW=0400000
CPPCHECK_TPL   = {file}:{line}:{column}: {severity}: {message} [{id}]
TIDY_CFLAGS    = -std=c99 -Iinclude -Ilib -D_POSIX_C_SOURCE=200809L
LINT_BUILD     = WERROR=1 CFLAGS=-pedantic

.PHONY: check-lint
check-lint:
	$(MAKE) --no-print-directory -j2 B=build/lint-gcc CC=gcc $(LINT_BUILD) tests examples
	$(MAKE) --no-print-directory -j2 B=build/lint-clang CC=clang $(LINT_BUILD) tests examples
	@echo "cppcheck: lib/, examples/, tests/support/ (gcc/glibc and portable configurations)"
	@cppcheck $(CPPCHECK_FLAGS) $(CPPCHECK_GNU) --template='$(CPPCHECK_TPL) (gcc/glibc)' \
	    $(LINT_C_SRCS) & p=$$!; rc=0; \
	    cppcheck $(CPPCHECK_FLAGS) --template='$(CPPCHECK_TPL) (portable)' $(LINT_C_SRCS) || rc=1; \
	    wait $$p || rc=1; \
	    if [ $$rc -ne 0 ]; then echo "check-lint: cppcheck findings above"; exit 1; fi
	@echo "clang-tidy: lib/*.c (.clang-tidy)"
	@mkdir -p build/lint
	@printf '%s\n' $(LIB_SRCS) | xargs -n 1 -P 2 sh -c 'clang-tidy -quiet --config-file=.clang-tidy \
	    --warnings-as-errors="*" "$$1" -- $(TIDY_CFLAGS) 2>&1' sh >build/lint/clang-tidy.log; rc=$$?; \
	    grep -v "^[0-9]* warnings\? generated\.$$" build/lint/clang-tidy.log; \
	    if [ $$rc -ne 0 ]; then echo "check-lint: clang-tidy findings above"; exit 1; fi
	@echo "check-lint: gcc and clang -pedantic, cppcheck, clang-tidy: no findings"

# ---------------------------------------------------------------- other hosts
# check-m32: the library and every suite built with gcc -m32 (32-bit size_t and
# pointers), st-inspect checks included, run natively where the kernel runs
# i386 programs and under qemu-i386 where it does not (many cloud and micro-VM
# kernels lack IA32 emulation): tests/i386_runner.sh decides with a probe and
# says which; a host where neither works fails the stage with the reason. On a
# host that runs them natively the cmocka suites run once more under qemu-i386
# (forced), and both runs must pass the same number of tests.
# ST_I386_RUN=native|qemu forces one way. check-s390x: the same cross-built for
# s390x (big-endian) and the cmocka suites run under qemu-user. Each first
# installs its Debian packages (tests/deps.sh m32 / s390x, as root).
# m32 needs the kernel's asm/ headers, which only gcc-multilib links into
# /usr/include, and gcc-multilib conflicts with every cross compiler: the
# same link in a private include directory instead.
.PHONY: check-m32 check-s390x
M32_MAKE = PKG_CONFIG_LIBDIR=/usr/lib/i386-linux-gnu/pkgconfig $(MAKE) --no-print-directory \
    B=build/m32 CC="gcc -m32" CFLAGS="-isystem build/m32/sysinc" WERROR=1
check-m32:
	@sh tests/deps.sh m32
	@mkdir -p build/m32/sysinc && ln -sfn /usr/include/$$(gcc -print-multiarch)/asm build/m32/sysinc/asm
	@sh tests/check_i386_runner.sh
	gcc -m32 $(CSTD) $(WARN) -Werror -o build/m32/i386_probe tests/i386_probe.c
	@sh tests/check_i386_runner.sh build/m32/i386_probe
	$(M32_MAKE) tests
	@wrap=$$(sh tests/i386_runner.sh build/m32/i386_probe) || exit 1; \
	    echo "check-m32: ST_TEST_WRAPPER='$$wrap'"; \
	    ST_TEST_WRAPPER="$$wrap" sh tests/run.sh build/m32 || exit 1; \
	    ST_TEST_WRAPPER="$$wrap" sh tests/check_inspect.sh build/m32 || exit 1; \
	    ST_TEST_WRAPPER="$$wrap" sh tests/check_convert.sh build/m32 || exit 1; \
	    if [ -z "$$wrap" ] && [ "$${ST_I386_RUN:-auto}" = auto ]; then \
	        native=$$(cat build/m32/test-summary); \
	        wrap=$$(ST_I386_RUN=qemu sh tests/i386_runner.sh build/m32/i386_probe) || exit 1; \
	        ST_TEST_WRAPPER="$$wrap" sh tests/run.sh build/m32 >build/m32/qemu.log 2>&1; rc=$$?; \
	        tail -n 1 build/m32/qemu.log; \
	        if [ $$rc -ne 0 ] || [ "$$(cat build/m32/test-summary)" != "$$native" ]; then \
	            cat build/m32/qemu.log; \
	            echo "check-m32: under qemu-i386 '$$(cat build/m32/test-summary)', natively '$$native'"; \
	            exit 1; fi; \
	        echo "$$native" >build/m32/test-summary; \
	        echo "check-m32: the same under qemu-i386 as natively: $$native"; \
	    fi

check-s390x:
	@sh tests/deps.sh s390x
	PKG_CONFIG_LIBDIR=/usr/lib/s390x-linux-gnu/pkgconfig $(MAKE) --no-print-directory B=build/s390x \
	    CC=s390x-linux-gnu-gcc AR=s390x-linux-gnu-ar WERROR=1 tests
	ST_TEST_WRAPPER="qemu-s390x -L /" sh tests/run.sh build/s390x

# check-portable: the library built with -DST_OS_PORTABLE_POSIX, which switches
# off the Linux-only calls of lib/os_posix.c (madvise with MADV_POPULATE_READ and
# MADV_HUGEPAGE, getentropy) and its _DEFAULT_SOURCE, so the branch macOS and the
# BSDs take (posix_madvise, /dev/urandom, touching pages to prefetch) is built
# with POSIX interfaces alone and passes every suite and the st-inspect checks.
.PHONY: check-portable
check-portable:
	@$(MAKE) --no-print-directory B=build/portable WERROR=1 CFLAGS=-DST_OS_PORTABLE_POSIX run-tests
	@u=$$(nm build/portable/obj/os_posix.o | sed -n 's/^ *U //p'); \
	    for f in madvise getentropy; do if printf '%s\n' $$u | grep -qx "$$f"; then \
	        echo "check-portable: the portable build still calls $$f"; exit 1; fi; done; \
	    printf '%s\n' $$u | grep -qx posix_madvise || { echo "check-portable: posix_madvise not used"; exit 1; }; \
	    echo "check-portable: os_posix.o calls posix_madvise, not madvise or getentropy"

# check-tokwin: the tokenizer with tiny windows (3 new tokens and about 16 bytes
# per jsmn call, instead of 256 and 64 KiB), under ASan and UBSan: every suite,
# both tool checks and the fuzz corpora then cross window ends at every token
# and byte, which a real header does only every few thousand.
TOKWIN_CFLAGS = -DST__TOK_NEW=3 -DST__BYTE_WIN=16
.PHONY: check-tokwin
check-tokwin:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory B=build/tokwin SAN=1 WERROR=1 OPT="-O1 -g" \
	    CFLAGS="$(TOKWIN_CFLAGS)" run-tests
	@mkdir -p build/fuzz
	@python3 tests/fuzz/make_seeds.py build/fuzz/seeds >/dev/null
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -Iinclude -o build/fuzz/replay_tokwin \
	    tests/fuzz/replay.c tests/fuzz/fuzz_open.c build/tokwin/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay_tokwin build/fuzz/seeds tests/fuzz/corpus tests/regress
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -D_POSIX_C_SOURCE=200809L -Iinclude \
	    -o build/fuzz/replay_index_tokwin tests/fuzz/replay.c tests/fuzz/fuzz_index.c \
	    build/tokwin/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay_index_tokwin tests/fuzz/index_seeds
	python3 tests/diff/run_diff.py --inspect build/tokwin/st-inspect --offsets --cases 300 --seed 7

# check-nognu: no GNU-only construct of lib/ or the public header outside an #if
# that a non-GNU compiler (MSVC first) does not take: tests/check_nognu.sh.
# Its MSVC pass reads the mingw-w64 headers (tests/deps.sh windows).
.PHONY: check-nognu
check-nognu:
	@sh tests/check_nognu.sh

# ---------------------------------------------------------------- Windows
# make windows: cross-built with mingw-w64 (x86_64-w64-mingw32-gcc) into
# build/windows/: libsafetensors-$(VERSION_MAJOR).dll with its import library
# libsafetensors.dll.a (objects built with ST_BUILDING_DLL: only the ST_API
# functions are exported), the static libsafetensors.a (objects without it),
# st-inspect.exe, make-sample.exe, quickstart.exe (static, as elsewhere) and
# quickstart-dll.exe (through the DLL). Windows programs using the static
# library link -lbcrypt too. __USE_MINGW_ANSI_STDIO: the C99 printf family
# (%zu, %llu) rather than msvcrt's.
# check-windows: the cmocka suites, tests/check_inspect.sh and
# tests/check_convert.sh under wine (a prefix in build/windows/wineprefix; a
# UTF-8 locale, which wine converts arguments from), against a static cmocka
# built from Debian's source package (tests/windows_cmocka.sh); installs its
# Debian packages first (tests/deps.sh windows, as root).
.PHONY: windows windows-build check-windows
WB        = build/windows
W_CC      = x86_64-w64-mingw32-gcc
W_AR      = x86_64-w64-mingw32-ar
W_CFLAGS  = $(CSTD) $(OPT) $(WARN) -D__USE_MINGW_ANSI_STDIO=1 -Iinclude -isystem $(WB)/sysinc
W_LIBS    = -lbcrypt
W_DLL     = $(WB)/libsafetensors-$(VERSION_MAJOR).dll
W_IMPLIB  = $(WB)/libsafetensors.dll.a
W_STATIC  = $(WB)/libsafetensors.a
W_DLL_OBJS = $(patsubst lib/%.c,$(WB)/obj-dll/%.o,$(LIB_SRCS))
W_OBJS    = $(patsubst lib/%.c,$(WB)/obj/%.o,$(LIB_SRCS))
W_EXAMPLES = $(patsubst examples/%.c,$(WB)/%.exe,$(EXAMPLE_SRCS)) $(WB)/quickstart-dll.exe
W_TESTS   = $(patsubst tests/%.c,$(WB)/tests/%.exe,$(TEST_SRCS))
W_CMOCKA  = $(WB)/cmocka/lib/libcmocka-static.a
W_ENV     = WINEPREFIX=$(CURDIR)/$(WB)/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
            LANG=C.UTF-8 LC_ALL=C.UTF-8

# jsmn.h is a header-only Debian package under /usr/include, which the cross
# compiler does not search: that one header through a private directory
$(WB)/sysinc/jsmn.h:
	@mkdir -p $(@D)
	@test -f /usr/include/jsmn.h || { echo "windows: /usr/include/jsmn.h missing (sh tests/deps.sh build)"; exit 1; }
	ln -sf /usr/include/jsmn.h $@

$(WB)/obj-dll/%.o: lib/%.c $(LIB_HDRS) $(WB)/sysinc/jsmn.h
	@mkdir -p $(@D)
	$(W_CC) $(W_CFLAGS) -Ilib -DST_BUILDING_DLL $(CFLAGS) -c -o $@ $<

$(WB)/obj/%.o: lib/%.c $(LIB_HDRS) $(WB)/sysinc/jsmn.h
	@mkdir -p $(@D)
	$(W_CC) $(W_CFLAGS) -Ilib $(CFLAGS) -c -o $@ $<

$(W_DLL): $(W_DLL_OBJS)
	$(W_CC) -shared -o $@ -Wl,--out-implib,$(W_IMPLIB) $(W_DLL_OBJS) $(W_LIBS) $(LDFLAGS)

$(W_IMPLIB): $(W_DLL)

$(W_STATIC): $(W_OBJS)
	rm -f $@
	$(W_AR) rcs $@ $(W_OBJS)

$(WB)/quickstart-dll.exe: examples/quickstart.c $(W_IMPLIB) $(HDR)
	$(W_CC) $(W_CFLAGS) $(CFLAGS) -o $@ $< $(W_IMPLIB) $(LDFLAGS)

$(WB)/%.exe: examples/%.c $(W_STATIC) $(HDR)
	$(W_CC) $(W_CFLAGS) $(CFLAGS) -o $@ $< $(W_STATIC) $(W_LIBS) $(LDFLAGS)

# make windows first installs what it needs (tests/deps.sh windows)
windows:
	@sh tests/deps.sh windows
	@$(MAKE) --no-print-directory windows-build

windows-build: $(W_DLL) $(W_IMPLIB) $(W_STATIC) $(W_EXAMPLES)

$(W_CMOCKA):
	@sh tests/windows_cmocka.sh $(WB)

# static: no DLL of the toolchain (winpthread) to put beside each program;
# binmode.o: open() and fopen() default to binary, as on POSIX (tests/support/stt_os.h)
W_BINMODE = $(shell $(W_CC) -print-file-name=binmode.o)
$(WB)/tests/%.exe: tests/%.c $(TEST_SUPPORT) $(TEST_HDRS) $(W_STATIC) $(LIB_HDRS) $(W_CMOCKA)
	@mkdir -p $(@D)
	$(W_CC) $(W_CFLAGS) -D_FILE_OFFSET_BITS=64 -Ilib -Itests/support -I$(WB)/cmocka/include $(CFLAGS) -o $@ \
	    $< $(TEST_SUPPORT) $(W_BINMODE) $(W_STATIC) $(W_CMOCKA) $(W_LIBS) -static -pthread $(LDFLAGS)

# One wineserver for the whole stage (wineserver -p; a first program starts the
# prefix's services with no terminal or pipe to hold); the suites run beside
# the st-inspect and st-convert checks, their output shown after; then
# quickstart through the DLL must print what the static build prints.
check-windows:
	@sh tests/deps.sh windows
	$(MAKE) --no-print-directory -j2 WERROR=1 windows-build $(W_TESTS) build/convert_ref.bin
	@sh tests/check_windows_exports.sh $(W_DLL) $(W_STATIC)
	@echo "check-windows: lint of the Windows branches (cppcheck win64, clang-tidy for x86_64-w64-windows-gnu)"
	@cppcheck $(filter-out --platform=unix64 --library=posix -D_POSIX_C_SOURCE=200809L,$(CPPCHECK_FLAGS)) \
	    --platform=win64 --library=windows -D_WIN32 -D_WIN64 -D__MINGW32__ \
	    --template='$(CPPCHECK_TPL) (win64)' lib/os_win32.c tests/support/stt_os.c examples/st-inspect.c \
	    examples/st-convert.c
	@clang-tidy -quiet --config-file=.clang-tidy --warnings-as-errors="*" lib/os_win32.c -- \
	    -std=c99 -Iinclude -Ilib --target=x86_64-w64-windows-gnu -isystem /usr/share/mingw-w64/include \
	    -D__USE_MINGW_ANSI_STDIO=1 >$(WB)/clang-tidy.log 2>&1; rc=$$?; \
	    grep -v "^[0-9]* warnings\? generated\.$$" $(WB)/clang-tidy.log; \
	    if [ $$rc -ne 0 ]; then echo "check-windows: clang-tidy findings above"; exit 1; fi
	@sh tests/wine_prefix.sh $(WB)/wineprefix
	@echo "check-windows: the suites, tests/check_inspect.sh and tests/check_convert.sh under wine"
	@export $(W_ENV) ST_TEST_WRAPPER=wine; wineserver -p; wine cmd /c exit </dev/null >/dev/null 2>&1; \
	    { sh tests/run.sh $(WB) >$(WB)/suites.log 2>&1; echo $$? >$(WB)/suites.rc; } & \
	    sh tests/check_inspect.sh $(WB) >$(WB)/inspect.log 2>&1; irc=$$?; \
	    sh tests/check_convert.sh $(WB) >$(WB)/convert.log 2>&1 || irc=1; wait; \
	    src=$$(cat $(WB)/suites.rc); cat $(WB)/suites.log $(WB)/inspect.log $(WB)/convert.log; qrc=0; \
	    wine $(WB)/make-sample.exe $(WB)/sample.safetensors >$(WB)/quickstart.out 2>&1 && \
	    wine $(WB)/quickstart.exe $(WB)/sample.safetensors >$(WB)/quickstart.out 2>&1 && \
	    wine $(WB)/quickstart-dll.exe $(WB)/sample.safetensors >$(WB)/quickstart-dll.out 2>&1 && \
	    cmp -s $(WB)/quickstart.out $(WB)/quickstart-dll.out || qrc=1; \
	    wineserver -k; \
	    if [ $$qrc != 0 ]; then cat $(WB)/quickstart.out $(WB)/quickstart-dll.out; \
	        echo "check-windows: quickstart through $(notdir $(W_DLL)) failed or printed otherwise than the static build"; \
	    else echo "check-windows: quickstart through $(notdir $(W_DLL)): $$(wc -l <$(WB)/quickstart-dll.out) lines, as the static build"; fi; \
	    [ "$$src" = 0 ] && [ $$irc = 0 ] && [ $$qrc = 0 ]

# ---------------------------------------------------------------- fuzzing
# fuzz-replay: the fuzz target with a plain driver under ASan+UBSan (gcc or clang),
# over the seeds, the kept corpus and the regression cases (expected statuses).
# fuzz: the same target under libFuzzer (clang), for FUZZ_TIME seconds.
FUZZ_TIME   ?= 60
FUZZ_CORPUS ?= build/fuzz/corpus
FUZZ_ARGS   ?=
FUZZ_BIN    ?= build/fuzz/fuzz_open
FUZZ_INDEX_TIME ?= 30
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

fuzz-replay:
	@$(MAKE) --no-print-directory B=build/asan SAN=1 WERROR=1 OPT="-O1 -g" build/asan/libsafetensors.a
	@mkdir -p build/fuzz
	@python3 tests/fuzz/make_seeds.py build/fuzz/seeds >/dev/null
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -Iinclude -o build/fuzz/replay \
	    tests/fuzz/replay.c tests/fuzz/fuzz_open.c build/asan/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay build/fuzz/seeds tests/fuzz/corpus tests/regress
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -Iinclude -o build/fuzz/replay_reader \
	    tests/fuzz/replay.c tests/fuzz/fuzz_reader.c build/asan/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay_reader build/fuzz/seeds tests/fuzz/corpus \
	    tests/regress tests/fuzz/reader_regress
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -D_POSIX_C_SOURCE=200809L -Iinclude \
	    -o build/fuzz/replay_index tests/fuzz/replay.c tests/fuzz/fuzz_index.c \
	    build/asan/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay_index tests/fuzz/index_seeds
	$(CC) $(CSTD) -O1 -g $(WARN) -Werror $(FUZZ_SAN) -Iinclude -o build/fuzz/replay_write \
	    tests/fuzz/replay.c tests/fuzz/fuzz_write.c build/asan/libsafetensors.a -pthread
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/replay_write tests/fuzz/write_corpus

# the same for opening through a failing reader and from the header only
# (tests/fuzz/fuzz_reader.c; it reads fuzz_open's corpus and seeds)
fuzz-reader:
	@$(MAKE) --no-print-directory B=build/fuzzlib CC=clang SAN=1 OPT="-O1 -g" \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzzlib/libsafetensors.a
	@mkdir -p build/fuzz build/fuzz/reader-corpus
	@python3 tests/fuzz/make_seeds.py build/fuzz/seeds >/dev/null
	clang $(CSTD) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Iinclude -o build/fuzz/fuzz_reader tests/fuzz/fuzz_reader.c build/fuzzlib/libsafetensors.a \
	    -pthread
	build/fuzz/fuzz_reader -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/safetensors.dict \
	    -max_len=65536 -timeout=10 -rss_limit_mb=4096 -artifact_prefix=build/fuzz/reader- \
	    $(FUZZ_ARGS) build/fuzz/reader-corpus build/fuzz/seeds tests/fuzz/corpus

# the writer (tests/fuzz/fuzz_write.c): whatever it accepts, the reader opens as given
fuzz-write:
	@$(MAKE) --no-print-directory B=build/fuzzlib CC=clang SAN=1 OPT="-O1 -g" \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzzlib/libsafetensors.a
	@mkdir -p build/fuzz build/fuzz/write-corpus
	clang $(CSTD) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Iinclude -o build/fuzz/fuzz_write tests/fuzz/fuzz_write.c build/fuzzlib/libsafetensors.a \
	    -pthread
	build/fuzz/fuzz_write -max_total_time=$(FUZZ_TIME) -max_len=4096 -timeout=10 \
	    -rss_limit_mb=4096 -artifact_prefix=build/fuzz/write- $(FUZZ_ARGS) \
	    build/fuzz/write-corpus tests/fuzz/write_corpus

# the same for sharded-model indexes (tests/fuzz/fuzz_index.c)
fuzz-index:
	@$(MAKE) --no-print-directory B=build/fuzzlib CC=clang SAN=1 OPT="-O1 -g" \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzzlib/libsafetensors.a
	@mkdir -p build/fuzz build/fuzz/index-corpus
	clang $(CSTD) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -D_POSIX_C_SOURCE=200809L -Iinclude -o build/fuzz/fuzz_index tests/fuzz/fuzz_index.c \
	    build/fuzzlib/libsafetensors.a -pthread
	build/fuzz/fuzz_index -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/safetensors.dict \
	    -max_len=4096 -timeout=10 -rss_limit_mb=4096 -artifact_prefix=build/fuzz/index- $(FUZZ_ARGS) \
	    build/fuzz/index-corpus tests/fuzz/index_seeds

fuzz:
	@$(MAKE) --no-print-directory B=build/fuzzlib CC=clang SAN=1 OPT="-O1 -g" \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzzlib/libsafetensors.a
	@mkdir -p build/fuzz $(FUZZ_CORPUS)
	@python3 tests/fuzz/make_seeds.py build/fuzz/seeds >/dev/null
	clang $(CSTD) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Iinclude -o $(FUZZ_BIN) tests/fuzz/fuzz_open.c build/fuzzlib/libsafetensors.a -pthread
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -dict=tests/fuzz/safetensors.dict \
	    -max_len=65536 -timeout=10 -rss_limit_mb=4096 -artifact_prefix=build/fuzz/ $(FUZZ_ARGS) \
	    $(FUZZ_CORPUS) build/fuzz/seeds tests/fuzz/corpus tests/regress

# ---------------------------------------------------------------- benchmark
# make bench: generates its inputs under $(B)/bench/ (sparse files, among them a
# 163-shard model, and one 512 MB file, reused between runs), prints the cold table
# (fresh processes), the warm-loop table and BENCH lines; see docs/performance.md.
# BENCH_ARGS="--only cold,sharded,hostile" for the cold parts alone.
# st_tensor_read / st_convert_to_f32 are measured only if the library defines them.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_HDRS := $(wildcard bench/*.h)
BENCH_DEFS  = $(shell nm -g --defined-only $(STATIC) 2>/dev/null | sed -n \
    -e 's/^.* T st_tensor_read$$/-DBENCH_HAVE_TENSOR_READ=1/p' \
    -e 's/^.* T st_convert_to_f32$$/-DBENCH_HAVE_CONVERT=1/p' | sort -u)
BENCH_ARGS ?=

$(B)/bench/bench: $(BENCH_SRCS) $(BENCH_HDRS) $(STATIC) $(HDR)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(BENCH_DEFS) -o $@ $(BENCH_SRCS) $(STATIC) -lm $(LDFLAGS_ALL)

.PHONY: bench bench-python
bench: $(B)/bench/bench
	$(B)/bench/bench $(BENCH_ARGS) $(B)/bench
	$(MAKE) --no-print-directory bench-python

# The Python package: load_file of a 1 GiB BF16 file against numpy.fromfile
# of the same bytes, warm and cold, each run a fresh process (python/bench/).
BENCH_PY_ARGS ?=
bench-python:
	@sh tests/check_python.sh --install-only build/python-venv
	build/python-venv/bin/python python/bench/bench_load.py $(BENCH_PY_ARGS)

# ---------------------------------------------------------------- install
safetensors.pc: safetensors.pc.in $(HDR)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    safetensors.pc.in > $(B)/safetensors.pc

# CMake package files for this LIBDIR/INCLUDEDIR (relocatable: see the template).
cmake-config: cmake/safetensors-config.cmake.in cmake/safetensors-config-version.cmake.in $(HDR)
	@mkdir -p $(B)/cmake
	@ptr=$$(echo | $(CC) -dM -E - 2>/dev/null | sed -n 's/^.define __SIZEOF_POINTER__ //p'); \
	for f in safetensors-config safetensors-config-version; do \
	    sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	        -e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
	        -e "s|@SIZEOF_VOID_P@|$$ptr|g" cmake/$$f.cmake.in > $(B)/cmake/$$f.cmake || exit 1; \
	done

install: lib examples safetensors.pc cmake-config
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HDR) $(DESTDIR)$(INCLUDEDIR)/safetensors.h
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libsafetensors.so.$(VERSION)
	ln -sf libsafetensors.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsafetensors.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libsafetensors.a
	install -m 644 $(B)/safetensors.pc $(DESTDIR)$(PKGCONFIGDIR)/safetensors.pc
	install -m 755 $(B)/st-inspect $(DESTDIR)$(BINDIR)/st-inspect
	install -m 755 $(B)/st-convert $(DESTDIR)$(BINDIR)/st-convert
	install -d $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(B)/cmake/safetensors-config.cmake \
	    $(B)/cmake/safetensors-config-version.cmake $(DESTDIR)$(CMAKEDIR)
	install -m 644 docs/man/st-inspect.1 $(DESTDIR)$(MANDIR)/man1/st-inspect.1
	install -m 644 docs/man/st-convert.1 $(DESTDIR)$(MANDIR)/man1/st-convert.1
	install -m 644 docs/man/safetensors.3 $(DESTDIR)$(MANDIR)/man3/safetensors.3

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/safetensors.h \
	    $(DESTDIR)$(LIBDIR)/libsafetensors.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsafetensors.so \
	    $(DESTDIR)$(LIBDIR)/libsafetensors.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/safetensors.pc $(DESTDIR)$(BINDIR)/st-inspect \
	    $(DESTDIR)$(BINDIR)/st-convert
	rm -f $(DESTDIR)$(CMAKEDIR)/safetensors-config.cmake \
	    $(DESTDIR)$(CMAKEDIR)/safetensors-config-version.cmake \
	    $(DESTDIR)$(MANDIR)/man1/st-inspect.1 $(DESTDIR)$(MANDIR)/man1/st-convert.1 \
	    $(DESTDIR)$(MANDIR)/man3/safetensors.3
	rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true

clean:
	rm -rf build
