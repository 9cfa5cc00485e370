# phmatch - GNU make build. `make help` lists the targets.
#
# Source files are found by wildcard: a new src/lib/*.c joins the library,
# src/cli/*.c the phmatch tool, src/video/*.c the video backend
# (phmatch-video.so, the only code linked against FFmpeg, which libphmatch
# opens at the first video), tests/unit/test_*.c becomes a test program.
# Files ending in _avx2.c / _avx512.c are compiled with those instruction
# sets enabled; the library chooses among them at run time.

# The one source of the version is include/phmatch.h (PHM_VERSION_STRING).
VERSION   := $(shell sed -n 's/^\#define PHM_VERSION_STRING "\(.*\)"$$/\1/p' include/phmatch.h)
ifeq ($(VERSION),)
$(error cannot read PHM_VERSION_STRING from include/phmatch.h)
endif
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
SAN       ?= 0
CC        ?= cc

# The library's packages (and phmatch.pc's). FFmpeg is not among them: only
# the video backend links it (VIDEO_PKGS).
PKGS      := libturbojpeg libjpeg libpng libwebp libwebpdemux lmdb libcrypto jansson
# libheif, libjxl, libtiff and libxml2 (NCMEC lists) are opened at their
# first use (src/lib/dynlib.c, which says why), not linked: only their
# headers, and the SONAMEs to open, read from the development libraries.
DL_PKGS   := libheif libjxl libtiff-4 libxml-2.0
soname     = $(shell objdump -p $$(pkg-config --variable=libdir $(1))/$(2).so 2>/dev/null | \
               awk '$$1 == "SONAME" { print $$2 }')
dl_define  = $(if $(call soname,$(1),$(2)),-D$(3)='"$(call soname,$(1),$(2))"')
DL_SONAMES := $(call dl_define,libheif,libheif,PHM_LIBHEIF_SONAME) \
              $(call dl_define,libjxl,libjxl,PHM_LIBJXL_SONAME) \
              $(call dl_define,libtiff-4,libtiff,PHM_LIBTIFF_SONAME) \
              $(call dl_define,libxml-2.0,libxml2,PHM_LIBXML2_SONAME)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(DL_PKGS)) $(DL_SONAMES)
# Unit tests may call those libraries themselves (test_decode_tiff writes TIFFs).
DL_LIBS    = $(shell pkg-config --libs $(DL_PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
VIDEO_PKGS := libavformat libavcodec libswscale libavutil
VIDEO_CFLAGS = $(shell pkg-config --cflags $(VIDEO_PKGS))
VIDEO_LIBS   = $(shell pkg-config --libs $(VIDEO_PKGS))
# phmatchd alone uses libmicrohttpd (HTTP), so it stays out of PKGS and of
# the library's phmatch.pc.
SVC_PKGS  := libmicrohttpd
SVC_CFLAGS = $(shell pkg-config --cflags $(SVC_PKGS))
SVC_LIBS   = $(shell pkg-config --libs $(SVC_PKGS)) -pthread

WARN := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla -Wundef
ifeq ($(CI),true)
WARN += -Werror
endif

OPT    ?= -O2
# Debug information (set on the command line, not from the environment):
# make check's ASan+UBSan build takes -g1 (line tables:
# the sanitizers' reports still name file and line; 15 % less compile time).
DEBUG_INFO := -g
# GCC 12 at -O2 only vectorises loops whose trip count is a known multiple of
# the vector width; the filter loops run over image widths.
VEC    := -ftree-vectorize -fvect-cost-model=dynamic
# -ffp-contract=off: PDQ must round exactly as the reference does; fused
# multiply-adds would change low bits and so hash bits.
BASE   := -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -fPIC $(DEBUG_INFO) \
          -ffp-contract=off -fno-fast-math -fopenmp -Iinclude -Isrc/lib -MMD -MP \
          -fvisibility=hidden
ifeq ($(SAN),1)
BASE   += -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=all
SANLD  := -fsanitize=address,undefined
endif
ALL_CFLAGS = $(BASE) $(OPT) $(VEC) $(WARN) $(PKG_CFLAGS) $(CFLAGS)
# giflib ships no pkg-config file.
LDLIBS_ALL = $(SANLD) -fopenmp $(PKG_LIBS) -lgif -lm -ldl -pthread $(LDLIBS)

LIB_SRC    := $(filter-out %_avx2.c %_avx512.c,$(wildcard src/lib/*.c))
LIB_AVX2   := $(wildcard src/lib/*_avx2.c)
LIB_AVX512 := $(wildcard src/lib/*_avx512.c)
# Other CPUs get the portable code only (the x86 variants would not build).
ifneq ($(shell uname -m),x86_64)
LIB_AVX2   :=
LIB_AVX512 :=
BASE       += -DPHM_NO_X86_SIMD
endif
LIB_OBJ    := $(patsubst src/%.c,$(BUILD)/%.o,$(LIB_SRC) $(LIB_AVX2) $(LIB_AVX512))
CLI_OBJ    := $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/cli/*.c))
SVC_OBJ    := $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/daemon/*.c))
VIDEO_OBJ  := $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/video/*.c))
SVC_TEST_BIN := $(patsubst tests/service/%.c,$(BUILD)/tests/service/%,$(wildcard tests/service/*.c))
TEST_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TOOL_BIN   := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))

STATIC := $(BUILD)/libphmatch.a
SHARED := $(BUILD)/libphmatch.so
VIDEO  := $(BUILD)/phmatch-video.so
# Where `make install` puts the video backend, and where libphmatch looks
# for it (after the program's own directory; see src/lib/video_loader.c).
VIDEO_DIR = $(PREFIX)/lib/phmatch
CLI    := $(BUILD)/phmatch
DAEMON := $(BUILD)/phmatchd

.PHONY: all lib tests tools check demo deps bench install uninstall clean help \
        asan tsan fuzz fuzz-long fuzz-valgrind _check _demo _bench FORCE
.DEFAULT_GOAL := all

all: lib $(CLI) $(DAEMON) tools ## build the library, the phmatch tool, the phmatchd service and helper tools
lib: $(STATIC) $(SHARED) $(VIDEO)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/daemon/%.o: src/daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SVC_CFLAGS) -c $< -o $@

$(BUILD)/video/%.o: src/video/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(VIDEO_CFLAGS) -c $< -o $@

# The installed directory of the backend is compiled into the loader; the
# object is rebuilt when it changes (`make install PREFIX=...`).
$(BUILD)/lib/video_loader.o: ALL_CFLAGS += -DPHM_VIDEO_BACKEND_DIR='"$(VIDEO_DIR)"'
$(BUILD)/lib/video_loader.o: $(BUILD)/video-dir
$(BUILD)/video-dir: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VIDEO_DIR)" ] || echo "$(VIDEO_DIR)" >$@
FORCE:

$(BUILD)/lib/%_avx2.o: src/lib/%_avx2.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -mavx2 -mpopcnt -mbmi2 -c $< -o $@

$(BUILD)/lib/%_avx512.o: src/lib/%_avx512.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq \
	    -mavx2 -mpopcnt -mbmi2 -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libphmatch.so.0 -o $@ $^ $(LDLIBS_ALL)

# The video backend: src/video/ and the library objects it needs (from the
# archive), exporting one symbol (the version script), linked to FFmpeg.
$(VIDEO): $(VIDEO_OBJ) $(STATIC) src/video/phmatch-video.map
	$(CC) -shared -Wl,--version-script=src/video/phmatch-video.map \
	    -Wl,--no-undefined -o $@ $(VIDEO_OBJ) $(STATIC) $(SANLD) \
	    $(VIDEO_LIBS) -lm -pthread $(LDLIBS)

# Written at install time, so the prefix in it is the one installed to.
define PKGCONFIG
prefix=$(PREFIX)
libdir=$${prefix}/lib
includedir=$${prefix}/include

Name: phmatch
Description: PDQ perceptual-hash matching of known imagery
Version: $(VERSION)
Requires.private: $(PKGS)
Libs: -L$${libdir} -lphmatch
Libs.private: -fopenmp -lgif -lm -ldl -pthread
Cflags: -I$${includedir}
endef
export PKGCONFIG

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS_ALL)

$(DAEMON): $(SVC_OBJ) $(STATIC)
	$(CC) -o $@ $(SVC_OBJ) $(STATIC) $(SVC_LIBS) $(LDLIBS_ALL)

$(BUILD)/tests/service/%: tests/service/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(STATIC) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(STATIC) $(LDLIBS_ALL) $(DL_LIBS)

# tests/unit/test_svc_*.c test phmatchd's parts: linked with its objects but main.o.
SVC_PART_OBJ := $(filter-out $(BUILD)/daemon/main.o,$(SVC_OBJ))
$(BUILD)/tests/test_svc_%: tests/unit/test_svc_%.c $(SVC_PART_OBJ) $(STATIC) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SVC_CFLAGS) -Itests/unit -Isrc/daemon -o $@ $< $(SVC_PART_OBJ) \
	    $(STATIC) $(SVC_LIBS) $(LDLIBS_ALL)

# test_svc_hma_ids injects a failing lookup: the daemon's calls of
# phm_searcher_find go to the test's __wrap_phm_searcher_find.
$(BUILD)/tests/test_svc_hma_ids: LDLIBS += -Wl,--wrap=phm_searcher_find

# test_search_cap: test_search linked with an index_search.c whose batch
# search stops at 64 candidates (BATCH_PAIRS), so the early stop is tested;
# that object's symbols come before the archive's, which adds no second copy.
TEST_BIN += $(BUILD)/tests/test_search_cap
$(BUILD)/tests/index_search_cap.o: src/lib/index_search.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DBATCH_PAIRS=64 -c -o $@ $<
$(BUILD)/tests/test_search_cap: tests/unit/test_search.c $(BUILD)/tests/index_search_cap.o \
    $(STATIC) tests/unit/tap.h
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/tests/index_search_cap.o $(STATIC) \
	    $(LDLIBS_ALL) $(DL_LIBS)

$(BUILD)/tools/%: tools/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STATIC) $(LDLIBS_ALL)

tests: $(TEST_BIN) $(CLI) $(DAEMON) $(SVC_TEST_BIN) $(SHARED) $(VIDEO) tools
tools: $(TOOL_BIN)

deps: ## install missing Debian packages (apt-get; needs root)
	@sh tools/deps.sh

check: deps ## install deps, build, run every test (plain and ASan+UBSan), fuzz smoke
	@$(MAKE) --no-print-directory _check

# make check time: both builds with CHECK_JOBS jobs (default: the number of
# CPUs) unless make was given -j, and tests/check.sh runs the tests
# CHECK_JOBS at a time. The fuzz targets are built (tests/fuzz/build.sh,
# in the background: the smoke run's own build waits for it, on its lock,
# then finds them made) beside the plain build, which waits for links and
# memory much of its time; the ASan build is the first item
# of check.sh's schedule (CHECK_BUILD_ASAN), made while the plain build's
# tests run, with -j of its own (check.sh's descriptors are not make's
# jobserver's).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
CHECK_J     = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS))

_check:
	@mkdir -p build-fuzz
	@FUZZ_BUILD_JOBS=$(CHECK_JOBS) sh tests/fuzz/build.sh build-fuzz >build-fuzz/prebuild.log 2>&1 &
	@$(MAKE) --no-print-directory $(CHECK_J) tests
	@CHECK_JOBS=$(CHECK_JOBS) CHECK_BUILD_ASAN='$(MAKE) --no-print-directory -j$(CHECK_JOBS) \
	    BUILD=build-asan SAN=1 OPT=-O1 DEBUG_INFO=-g1 tests' sh tests/check.sh

asan: ## build everything with ASan+UBSan into build-asan/
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT=-O1 tests

# TSan needs clang with LLVM's OpenMP (tests/tsan.sh says why); GCC's
# vectoriser flags are not clang's, and the shared objects are not built
# (TSan's runtime lives in the executable).
tsan: ## ThreadSanitizer (clang) over the multithreaded unit tests, in build-tsan/; not part of check
	@$(MAKE) --no-print-directory CC=clang VEC= VIDEO= SHARED= SANLD=-fsanitize=thread \
	    BUILD=build-tsan OPT=-O1 CFLAGS='-fsanitize=thread -fno-omit-frame-pointer' tests
	@BUILD=build-tsan sh tests/tsan.sh

fuzz: ## build the libFuzzer targets (clang) into build-fuzz/
	@sh tests/fuzz/build.sh build-fuzz

fuzz-long: ## fuzz every target for FUZZ_SECONDS in all (default 3600), FUZZ_JOBS at a time
	@sh tests/fuzz/long.sh

fuzz-valgrind: lib $(DAEMON) ## every fuzz target's corpora under valgrind (uninitialised reads); not part of check
	@BUILD=$(BUILD) sh tests/fuzz/valgrind.sh

demo: deps ## install deps, build, hash the photos in data/ and show the result
	@$(MAKE) --no-print-directory _demo

_demo: all
	@sh tools/demo.sh $(BUILD)

bench: deps ## run the benchmarks in bench/ (slow; prints medians and ratios)
	@$(MAKE) --no-print-directory _bench

_bench: all
	@sh bench/run.sh $(BUILD)
	@# issue 15: a small robustness run on data/ (TPR per edit, false matches;
	@# bench/robustness.sh DIR for one's own images)
	@BUILD=$(BUILD) sh bench/robustness.sh

install: all ## install into $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(VIDEO_DIR)
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/phmatch
	install -m 755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/phmatchd
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libphmatch.a
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libphmatch.so.$(VERSION)
	ln -sf libphmatch.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libphmatch.so.0
	ln -sf libphmatch.so.0 $(DESTDIR)$(PREFIX)/lib/libphmatch.so
	install -m 755 $(VIDEO) $(DESTDIR)$(VIDEO_DIR)/phmatch-video.so
	install -m 644 include/phmatch.h $(DESTDIR)$(PREFIX)/include/phmatch.h
	printf '%s\n' "$$PKGCONFIG" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/phmatch.pc
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

uninstall: ## remove what install put in $(DESTDIR)$(PREFIX)
	rm -f $(DESTDIR)$(PREFIX)/bin/phmatch $(DESTDIR)$(PREFIX)/bin/phmatchd \
	    $(DESTDIR)$(PREFIX)/lib/libphmatch.* \
	    $(DESTDIR)$(VIDEO_DIR)/phmatch-video.so \
	    $(DESTDIR)$(PREFIX)/include/phmatch.h \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/phmatch.pc \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(wildcard man/*.1))) \
	    $(addprefix $(DESTDIR)$(PREFIX)/share/man/man8/,$(notdir $(wildcard man/*.8)))
	-rmdir $(DESTDIR)$(VIDEO_DIR) 2>/dev/null

clean: ## remove build outputs
	rm -rf build build-asan build-tsan build-fuzz

# --- Debian packages (issue 16) --------------------------------------------
# `make deb` copies the tracked sources into $(DEB_DIR)/phmatch-VERSION/
# with tools/debian/ as debian/ (the changelog's version from VERSION, its
# date the last commit's), builds the binary packages there with
# dpkg-buildpackage and checks them with lintian (errors and warnings fail).
# The .debs land in $(DEB_DIR)/. tests/cli/deb.sh (`make check-deb`, which
# .ci/run calls after make check) builds, installs, tests and purges them.
# The package build gets none of this make's variables (its `make clean`
# would remove $(DEB_DIR)).
DEB_DIR  ?= build-deb
DEB_SRC   = $(DEB_DIR)/phmatch-$(VERSION)
DEB_ARCH  = $(shell dpkg --print-architecture)
DEB_CHANGES = $(DEB_DIR)/phmatch_$(VERSION)_$(DEB_ARCH).changes

.PHONY: deb check-deb clean-deb
deb: ## build the Debian packages phmatch, libphmatch0, libphmatch-dev into build-deb/ (lintian-checked)
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null && \
	    command -v lintian >/dev/null || \
	    { echo "make deb: needs dpkg-dev, debhelper and lintian (make deps)" >&2; exit 1; }
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || \
	    { echo "make deb: needs a git checkout (it packages the tracked files)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	git ls-files -z | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC)
	cp -R tools/debian $(DEB_SRC)/debian
	rm $(DEB_SRC)/debian/changelog.in
	sed -e 's/@VERSION@/$(VERSION)/' -e "s/@DATE@/$$(git log -1 --format=%aD)/" \
	    tools/debian/changelog.in >$(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DEB_DIR -u BUILD \
	    -u SAN -u OPT DEB_BUILD_OPTIONS="parallel=2 $(DEB_BUILD_OPTIONS)" \
	    dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning --display-info $(DEB_CHANGES)
	@ls -1 $(DEB_DIR)/*.deb

check-deb: deps ## make deb, install the packages (root), test the installed tools and unit, purge them
	@BUILD=$(BUILD) sh tests/cli/deb.sh

clean: clean-deb
clean-deb:
	rm -rf $(DEB_DIR)

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(firstword $(MAKEFILE_LIST)) | \
	    sed -e 's/:.*## /\t/' | expand -t 12

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
