#!/bin/bash
# The crash torture (tests/torture.sh, `make torture` runs 50 iterations),
# a few iterations of it so that `make test` covers it: the clinic job while
# the daemon is killed with SIGKILL at random moments and restarted.
# TORTURE_SEED repeats a run (the seed is printed).
exec bash "$(dirname "$0")/../torture.sh" "${TORTURE_E2E_ITERATIONS:-3}"
