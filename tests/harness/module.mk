# SPDX-License-Identifier: MIT
# The harness tests itself: sample misbehaves on purpose, the scripts check the reports.
COLLECTIONS += harness
TESTS_harness_HELPERS := sample
TESTS_harness_SCRIPTS := selftest.sh runner.sh ktap.sh
