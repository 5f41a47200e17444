#!/usr/bin/python3
"""Python's peers of par's process backend, on the workloads of proc's
benchmarks: 100,000 tiny jobs (a square root each) and 200 CPU-bound jobs of
about 5 ms, each on 2 worker processes with pools started beforehand.

Prints one line per measurement: name, seconds, and ns/job or speed-up."""

import math
import multiprocessing
import sys
import time

from joblib import Parallel, delayed

WORKERS = 2


def spin(ms):
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    xs = [float(i) for i in range(100_000)]
    cpu = [5] * 200

    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(math.sqrt, xs[:1000])  # warm
        t = best(lambda: pool.map(math.sqrt, xs))
        print(f"multiprocessing.Pool.map sqrt 100k\t{t:.4f} s\t{t / len(xs) * 1e9:.0f} ns/job")
        t0 = time.perf_counter()
        pool.map(math.sqrt, [1.0], chunksize=1)
        print(f"multiprocessing.Pool first job (warm pool)\t{(time.perf_counter() - t0) * 1e3:.2f} ms")
        serial = best(lambda: [spin(ms) for ms in cpu], repeat=2)
        t = best(lambda: pool.map(spin, cpu), repeat=3)
        print(f"multiprocessing.Pool.map 200x5ms\t{t:.4f} s\tspeed-up {serial / t:.2f}x over serial {serial:.3f} s")

    t0 = time.perf_counter()
    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(math.sqrt, [1.0])
    print(f"multiprocessing.Pool start-up + first job\t{(time.perf_counter() - t0) * 1e3:.1f} ms")

    with Parallel(n_jobs=WORKERS) as par:  # loky, the default backend
        par(delayed(math.sqrt)(x) for x in xs[:1000])  # warm
        t = best(lambda: par(delayed(math.sqrt)(x) for x in xs), repeat=3)
        print(f"joblib loky sqrt 100k\t{t:.4f} s\t{t / len(xs) * 1e9:.0f} ns/job")
        t = best(lambda: par(delayed(spin)(ms) for ms in cpu), repeat=3)
        print(f"joblib loky 200x5ms\t{t:.4f} s\tspeed-up {serial / t:.2f}x over serial {serial:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
