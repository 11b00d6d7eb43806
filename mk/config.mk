# SPDX-License-Identifier: MIT
# Build configuration: compilers, warnings, sanitizers, build directory, install paths.
# Everything here can be overridden on the command line (make CC=clang O=/tmp/b V=1).

VERSION := $(shell cat $(TOP)/VERSION)

comma := ,
empty :=
space := $(empty) $(empty)

CC ?= cc
CXX ?= c++
AR ?= ar
CLANG ?= clang
PKG_CONFIG ?= pkg-config

SANITIZE ?=
# Each sanitizer gets its own default build directory so objects never mix.
ifeq ($(SANITIZE),)
O ?= build
else
O ?= build-$(subst $(comma),-,$(SANITIZE))
endif
override O := $(patsubst %/,%,$(O))

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
PKGLIBDIR ?= $(LIBDIR)/mycontainer
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/mycontainer
MANDIR ?= $(DATADIR)/man
DESTDIR ?=

OPT ?= -O2
DEBUG ?= -g
WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wno-format-truncation
# -Wno-format-truncation: fixed-size messages (struct mc_err, log lines) truncate on
# purpose; every snprintf into a path checks its return value instead.
# -Werror by default; WERROR=0 turns it off for local experiments.
WERROR ?= 1
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

SAN_FLAGS :=
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -pipe -fno-strict-aliasing \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2
BASE_CXXFLAGS := -std=gnu++17 -D_GNU_SOURCE -pipe
CFLAGS ?=
CXXFLAGS ?=
LDFLAGS ?=
DEPFLAGS = -MMD -MP

# Only each component's public include/ directory is on the include path, plus the
# generated config header and the test harness.
# Component directories are those with a module.mk; build directories never count.
COMPONENT_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard */module.mk */*/module.mk))))
PUBLIC_HEADERS := $(wildcard $(addsuffix /include/mc/*.h,$(COMPONENT_DIRS)))
INCLUDE_DIRS := $(wildcard $(addsuffix /include,$(COMPONENT_DIRS))) $(O)/include tests/lib

ifeq ($(V),1)
Q :=
quiet =
else
Q := @
quiet = @printf '  %-8s %s\n' $(1) $(2);
endif

# $(call pkg-cflags,PKGS) / $(call pkg-libs,PKGS): pkg-config flags. Use them in
# recursively-expanded (=) variables so they are read after `make deps` has run.
pkg-cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg-libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)
