# SPDX-License-Identifier: MIT
# mycontainer: non-recursive build. mk/config.mk sets flags, every */module.mk declares
# its component's libraries, programs and tests as data, and mk/rules.mk turns those
# declarations into rules. `make help` lists the targets.

.DEFAULT_GOAL := all
TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

include mk/config.mk
include $(sort $(wildcard */module.mk */*/module.mk))
include mk/deps.mk
include mk/rules.mk
include mk/targets.mk
