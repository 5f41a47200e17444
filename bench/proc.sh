#!/bin/sh
# Side by side: par's process backend (and its cluster) against Python's
# multiprocessing.Pool, concurrent.futures, joblib/loky and Dask, on 2
# workers: 200 CPU-bound jobs of 5 ms and 100,000 square roots. These are
# workloads 2 and 3 of bench/run, which installs the peers, interleaves the
# tools round after round and writes the tables:
#
#   sh bench/proc.sh [--rounds N] [--quick]
exec "$(dirname "$0")/run" --only cpu,boundary --out "${TMPDIR:-/tmp}/par-bench-proc" "$@"
