#!/bin/sh
# Side by side: par's process backend against Python's multiprocessing.Pool
# and joblib's default (loky) backend, on the same workloads and 2 workers:
# 100,000 square roots, 200 CPU-bound jobs of 5 ms, and start-up.
#
#   sh bench/proc.sh            (needs Go, and /usr/bin/python3 with joblib:
#                                apt-get install python3-joblib)
#
# Both sides run on the same machine one after the other; on a shared
# machine run it more than once.
set -eu
cd "$(dirname "$0")/.."
export GOFLAGS=-buildvcs=false
bin=$(mktemp -d)/proc.test
go test -c -o "$bin" ./proc/

echo "== par, process backend (go test -bench in proc/)"
"$bin" -test.run '^$' -test.bench 'ProcMap$|ProcCPU|ProcStart|ProcRoundTrip' \
	-test.benchtime=5x -test.count=3 | grep '^Benchmark'

echo "== Python $(/usr/bin/python3 -c 'import sys, joblib; print(sys.version.split()[0], "joblib", joblib.__version__)')"
/usr/bin/python3 bench/proc_peers.py
rm -rf "$(dirname "$bin")"
