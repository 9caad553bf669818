# SPDX-License-Identifier: GPL-2.0
#
# dm-vdirt: top-level Makefile.
#
#   make                 build the module for the running kernel (KDIR) and the tool
#   make modules         build the module for both test kernels (build/SERIES/module)
#   make guest           build the test guest images (build/SERIES/initramfs.cpio)
#                        with the vdirtctl .deb (build/guest-debs: scripts/build-debs --arch-only)
#   make check           install what is needed, build everything, run the host unit
#                        tests and the guest tests on both kernels
#   make check KERNELS=6.1 TESTS=tests/12-tamper.sh   narrow it down
#                        (CHECK_JOBS=N: N tests at once, default 2; 1: in order, live)
#                        (its power-cut test runs CHECK_CUTS=4 cuts per kernel)
#   make check-crash     the power-cut chain, CRASH_CUTS=10 cuts per kernel, and the
#                        long tests ("# long:" in their header: stress-ng, cache bound)
#                        and the long parts of others ("# long-part:", tests/run --long)
#   make demo            the README's demo in a VM
#   make bench           overhead benchmarks of bench/README (~35 min)
#   make bench QUICK=1   a short subset, to check the scripts
#   make lint            sparse on both kernels and checkpatch on the kernel files
#   make dkms-install    register, build and install the module with DKMS
#   make dkms-uninstall  remove it from DKMS again (every kernel) with its sources
#   make debs            the Debian packages (dm-vdirt-dkms, vdirtctl) in build/debs
#   make install         install vdirtctl, tools/ (vdirt-lv, the libvirt hook), the man
#                        page, systemd unit, journal catalog and docs
#                        (PREFIX, DESTDIR, ...: userspace/Makefile); make uninstall
#   make clean

KERNELS ?= 6.1 6.12
TESTS ?=
KDIR ?= /lib/modules/$(shell uname -r)/build

TOOLS_SRC := $(wildcard tests/tools/*.c)
TOOLS_BIN := $(patsubst tests/tools/%.c,build/tests-bin/%,$(TOOLS_SRC))

PREFIX ?= /usr/local
DESTDIR ?=

QUICK ?=
# power cuts per kernel: in make check, and in make check-crash (CI runs both)
CHECK_CUTS ?= 4
CRASH_CUTS ?= 10
# jobs at once in make check and check-crash (tests/run -j): guests of both
# kernels and the host tests side by side (CHECK_JOBS=1: one at a time)
CHECK_JOBS ?= 2

.PHONY: check-crash bench all module modules userspace guest test-tools check demo lint clean deps debs dkms-install dkms-uninstall install uninstall

all: module userspace

# On a real host: build against the running kernel's headers.
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

deps:
	@scripts/deps

modules:
	@for k in $(KERNELS); do scripts/build-module $$k || exit 1; done

# WERROR=1 (make check): warnings are errors; a package build leaves it out
WERROR ?=
userspace:
	@if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace WERROR=$(WERROR); fi

# the guest tests' helper programs (tests/tools/*.c, static, on the guest's
# PATH); the installed tools (vdirt-lv, the libvirt hook) are in tools/
test-tools: $(TOOLS_BIN)

build/tests-bin/%: tests/tools/%.c
	@mkdir -p build/tests-bin
	gcc -static -O2 -Wall -Werror -pthread -o $@ $<

# vdigest digests with vdirtctl's hash layer (OpenSSL, libxxhash: static too)
build/tests-bin/vdigest: tests/tools/vdigest.c userspace/lib/hash.c userspace/lib/hash.h
	@mkdir -p build/tests-bin
	gcc -static -O2 -Wall -Werror -pthread -Iuserspace/lib -o $@ $< userspace/lib/hash.c -lcrypto -lxxhash

# imareplay replays the IMA measurement list into PCR values (OpenSSL, static)
build/tests-bin/imareplay: tests/tools/imareplay.c
	@mkdir -p build/tests-bin
	gcc -static -O2 -Wall -Werror -o $@ $< -lcrypto

# the vdirtctl .deb for the guest (tests/54-deb.sh installs it with dpkg):
# only the architecture-dependent package, without its unit tests (make check
# runs them) nor its -dbgsym package, rebuilt when the sources it is made of
# change
DEB_INPUTS := $(wildcard $(shell git ls-files -co --exclude-standard userspace debian systemd tools Documentation 2>/dev/null || \
	find userspace debian systemd tools Documentation -type f ! -name '*.o' ! -name '*.d')) dkms.conf
build/guest-debs/.built: $(DEB_INPUTS) scripts/build-debs
	@DEB_BUILD_OPTIONS=noddebs scripts/build-debs --nocheck --arch-only build/guest-debs >/dev/null
	@touch $@

guest: modules userspace test-tools build/guest-debs/.built
	@for k in $(KERNELS); do scripts/mkguest $$k >/dev/null || exit 1; done

check: deps
	@$(MAKE) -s guest KERNELS="$(KERNELS)" WERROR=1
	@VDIRT_CUTS=$(CHECK_CUTS) tests/run -j $(CHECK_JOBS) --kernels "$(KERNELS)" $(TESTS)

# tests marked "# long:" in their first lines: make check-crash runs them;
# and those with a "# long-part:" there, in full (tests/run --long)
LONG_TESTS := $(shell grep -l '^\# long:' $(wildcard tests/[0-9][0-9]-*.sh) 2>/dev/null)
LONG_PART_TESTS := $(shell grep -l '^\# long-part:' $(wildcard tests/[0-9][0-9]-*.sh) 2>/dev/null)

check-crash: deps
	@$(MAKE) -s guest KERNELS="$(KERNELS)" WERROR=1
	@VDIRT_CUTS=$(CRASH_CUTS) tests/run -j $(CHECK_JOBS) --long --kernels "$(KERNELS)" tests/50-powercut.sh $(LONG_TESTS) $(LONG_PART_TESTS)

demo: deps
	@$(MAKE) -s guest KERNELS=6.12
	@scripts/demo

bench: deps
	@$(MAKE) -s guest KERNELS="$(if $(filter 1,$(QUICK)),6.12,$(KERNELS))"
	@BENCH_NO_BUILD=1 bench/run $(if $(filter 1,$(QUICK)),--quick)

lint: deps
	@for k in $(KERNELS); do echo "sparse: $$k"; scripts/build-module $$k C=2 || exit 1; done
	@scripts/checkpatch-all

dkms-install:
	scripts/dkms-install

# the Debian packages dm-vdirt-dkms and vdirtctl in build/debs (from a copy of
# the tree; scripts/build-debs); tests/host/deb.sh builds and checks them
debs:
	scripts/build-debs

# what dkms-install did, undone: the module of every kernel and /usr/src/dm-vdirt-VERSION
dkms-uninstall:
	scripts/dkms-install --remove

# vdirtctl, tools/, man page, systemd unit and docs (userspace/Makefile has
# SBINDIR, MANDIR, DOCDIR, SYSTEMDUNITDIR, WITH_JOURNAL); make uninstall too
install uninstall: userspace
	@$(MAKE) -s -C userspace $@ PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

clean:
	rm -rf build/*/module build/*/guest-root build/*/initramfs.cpio build/tests-bin build/logs build/guest-debs
	rm -f *.o *.ko *.mod *.mod.c .*.cmd modules.order Module.symvers
	@if [ -f userspace/Makefile ]; then $(MAKE) -s -C userspace clean; fi
