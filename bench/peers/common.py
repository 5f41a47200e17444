"""What the peers' workloads share: the jobs, the command line and the
report. Each script runs one tool on one workload in its own process, as
bench/run calls it, and prints "seconds S" for the timed part alone (and
latency.py "median S" and "p99 S", those of one job's round trip).

    /usr/bin/python3 bench/peers/cpu.py TOOL N
"""

import statistics
import sys
import time

WORKERS = 2


def spin(ms):
    """Burn ms milliseconds of this thread's CPU time: the same work as
    par's Go job, which spins on the thread's CPU clock too."""
    end = time.thread_time() + ms / 1000
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


def args(tools):
    """Returns (tool, n) from the command line, tool one of tools."""
    if len(sys.argv) != 3 or sys.argv[1] not in tools:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(tools)} N")
    return sys.argv[1], int(sys.argv[2])


def timed(f):
    """Runs f and prints how long it took."""
    t0 = time.perf_counter()
    f()
    print(f"seconds {time.perf_counter() - t0:.6f}", flush=True)


def round_trips(one, xs, warm):
    """Calls one(x) on the first warm of xs, then on each of xs with the
    clock running: prints the loop's seconds, then the median and the 99th
    percentile (nearest rank, as par's side) of one call's."""
    for x in xs[:warm]:
        one(x)
    rtts = []
    t0 = time.perf_counter()
    for x in xs:
        t = time.perf_counter()
        one(x)
        rtts.append(time.perf_counter() - t)
    print(f"seconds {time.perf_counter() - t0:.6f}", flush=True)
    rtts.sort()
    p99 = rtts[max(1, (99 * len(rtts) + 99) // 100) - 1]
    print(f"median {statistics.median(rtts):.6f}\np99 {p99:.6f}", flush=True)


def dask_client():
    """A LocalCluster of WORKERS single-threaded worker processes, quiet."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster)
