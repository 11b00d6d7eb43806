# SPDX-License-Identifier: MIT
# Top-level targets: all, check, demo, install, format, fuzz, bench, clean, help.

SHELL := /bin/bash
.PHONY: all tests check demo install uninstall format check-format fuzz bench clean help list

all: $(ALL_LIBS) $(ALL_SHLIBS) $(ALL_PROGS)

tests: $(ALL_TEST_FILES)

# `make check` runs every collection; C=a,b runs some; T=coll:test runs one test program.
CHECK_COLLS := $(sort $(subst $(comma), ,$(C)) $(foreach t,$(subst $(comma), ,$(T)),$(firstword $(subst :, ,$(t)))))
CHECK_FILES := $(if $(CHECK_COLLS),$(foreach c,$(CHECK_COLLS),$(call coll-files,$(c))),all $(ALL_TEST_FILES))
KSFT_LIST := $(O)/tests/kselftest-list.txt
RUNNER_ARGS := -o $(O) $(foreach c,$(subst $(comma), ,$(C)),-c $(c)) $(foreach t,$(subst $(comma), ,$(T)),-t $(t))

check: check-deps $(CHECK_FILES)
	@mkdir -p $(O)/tests
	$(file >$(KSFT_LIST),$(foreach c,$(COLLECTIONS),$(foreach t,$(TESTS_$(c)_PROGS),$(c):$(t):$(abspath $(O))/tests/$(c)/$(t)$(newline))$(foreach s,$(TESTS_$(c)_SCRIPTS),$(c):$(s):$(TOP)/tests/$(c)/$(s)$(newline))))
	$(Q)MC_SANITIZE='$(SANITIZE)' $(TOP)/tests/run_kselftest.sh $(RUNNER_ARGS)

list:
	$(file >$(KSFT_LIST).tmp,$(foreach c,$(COLLECTIONS),$(foreach t,$(TESTS_$(c)_PROGS) $(TESTS_$(c)_SCRIPTS),$(c):$(t)$(newline))))
	@cat $(KSFT_LIST).tmp && rm -f $(KSFT_LIST).tmp

define newline


endef

# make check and make demo install what is missing (idempotent, fast when complete).
.PHONY: check-deps
check-deps:
	$(Q)if [ "$(MC_NO_DEPS)" != 1 ]; then $(TOP)/mk/deps.sh --check >/dev/null || $(TOP)/mk/deps.sh; fi

DEMO ?= tests/lib/demo.sh
demo: check-deps all $(DEMO_DEPS)
	$(Q)MC_BUILD=$(abspath $(O)) MC_SRC=$(TOP) $(TOP)/$(DEMO)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/mc $(DESTDIR)$(DOCDIR)
	$(if $(INST_PROGS),install -m 0755 $(INST_PROGS) $(DESTDIR)$(BINDIR)/)
	$(if $(ALL_SHLIBS),install -m 0644 $(ALL_SHLIBS) $(DESTDIR)$(PKGLIBDIR)/)
	$(if $(INST_LIBS),install -m 0644 $(INST_LIBS) $(DESTDIR)$(LIBDIR)/)
	install -m 0644 $(PUBLIC_HEADERS) $(CONFIG_H) $(DESTDIR)$(INCLUDEDIR)/mc/
	install -m 0644 README.md $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/
	$(foreach f,$(INSTALL_DATA),install -D -m 0644 $(firstword $(subst :, ,$(f))) $(DESTDIR)$(lastword $(subst :, ,$(f)))$(newline))

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INST_PROGS)))
	rm -rf $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(INCLUDEDIR)/mc $(DESTDIR)$(DOCDIR)
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(notdir $(INST_LIBS)))

# Formatting: every tracked (or new, not ignored) C source and header.
FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard -- '*.c' '*.h' '*.cc' 2>/dev/null)
CLANG_FORMAT ?= clang-format
format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_FILES)
check-format:
	$(Q)$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES) && echo "check-format: $(words $(FORMAT_FILES)) files ok"

# make fuzz [F=name] [FUZZ_TIME=seconds]: each target runs for a bounded time.
FUZZ_TIME ?= 20
FUZZ_RUN := $(if $(F),$(subst $(comma), ,$(F)),$(FUZZERS))
fuzz: $(foreach f,$(FUZZ_RUN),$(O)/fuzz/$(f))
	$(foreach f,$(FUZZ_RUN),@echo "fuzz: $(f) for $(FUZZ_TIME)s"$(newline)$(Q)mkdir -p $(O)/fuzz/corpus-$(f) && $(O)/fuzz/$(f) -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $(O)/fuzz/corpus-$(f) $($(f)_FUZZ_CORPUS) 2>&1 | grep -E '^(stat::|INFO: Running|Done|==|SUMMARY|#[0-9]+ +DONE)' ; test $${PIPESTATUS[0]} -eq 0$(newline))

# make bench [B=name]: runs the benchmark scripts (slow; results go to docs/benchmarks.md).
# With B= only the named benchmarks' declared dependencies (name_BENCH_DEPS) are built, so
# that a benchmark does not first compile every component on the cores it is about to time.
BENCH_RUN := $(if $(B),$(subst $(comma), ,$(B)),$(BENCHES))
bench: $(if $(B),,all) $(foreach b,$(BENCH_RUN),$($(b)_BENCH_DEPS))
	$(Q)set -e; $(foreach b,$(BENCH_RUN),MC_BUILD=$(abspath $(O)) MC_SRC=$(TOP) $(TOP)/$($(b)_BENCH);)

# docs/benchmarks.md is assembled from docs/benchmarks/*.md.
.PHONY: benchmarks-doc
benchmarks-doc:
	$(Q)$(TOP)/mk/benchdoc.sh

clean:
	rm -rf $(O)

help:
	@echo 'mycontainer $(VERSION) — targets:'
	@echo '  make [O=dir] [V=1] [SANITIZE=address,undefined|thread]   build everything'
	@echo '  make deps            install the Debian packages the project needs (root)'
	@echo '  make check [C=coll[,coll]] [T=coll:test]   build and run the tests'
	@echo '  make list            list the test collections and their tests'
	@echo '  make demo            build and run the main demo (root)'
	@echo '  make install [PREFIX=/usr/local] [DESTDIR=]'
	@echo '  make format | check-format'
	@echo '  make fuzz [F=target] [FUZZ_TIME=s]   run the libFuzzer targets for a bounded time'
	@echo '  make bench [B=name]  run benchmarks against the peers'
	@echo '  make benchmarks-doc  assemble docs/benchmarks.md from docs/benchmarks/*.md'
	@echo '  make clean'
	@echo 'collections: $(COLLECTIONS)'
	@echo 'fuzzers: $(FUZZERS)'
	@echo 'benches: $(BENCHES)'
