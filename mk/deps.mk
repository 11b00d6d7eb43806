# SPDX-License-Identifier: MIT
# Dependency probe. Modules append pkg-config names to PKG_PROBE. When a probe fails,
# `make`, `make check` and `make demo` run mk/deps.sh (which installs every package
# listed in a */deps.txt) before building; `make deps` runs it unconditionally.

NO_PROBE_GOALS := deps clean distclean format check-format help list benchmarks-doc
ifeq ($(filter-out $(NO_PROBE_GOALS),$(MAKECMDGOALS))$(if $(MAKECMDGOALS),,all),)
else ifneq ($(MC_NO_DEPS),1)
PKG_PROBE := $(sort $(PKG_PROBE))
ifneq ($(PKG_PROBE),)
ifneq ($(shell $(PKG_CONFIG) --exists $(PKG_PROBE) 2>/dev/null || echo missing),)
$(info deps: pkg-config probe failed for some of: $(PKG_PROBE))
$(info deps: running mk/deps.sh)
DEPS_RC := $(shell $(TOP)/mk/deps.sh >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error deps: mk/deps.sh failed (exit $(DEPS_RC)); run 'sudo make deps')
endif
endif
endif
endif

.PHONY: deps
deps:
	$(Q)$(TOP)/mk/deps.sh
