#!/usr/bin/python3
"""Workload 7: N square roots one at a time, each submitted alone and its
result waited for before the next, on 2 worker processes started and
warmed before the clock starts."""

import concurrent.futures
import math
import multiprocessing

from common import WORKERS, args, dask_client, round_trips

TOOLS = ["mp-pool", "process-pool-executor", "dask"]
WARM = 20  # jobs run one at a time before the clock starts, as par's


def main():
    tool, n = args(TOOLS)
    xs = [float(i) for i in range(n)]
    if tool == "mp-pool":
        with multiprocessing.Pool(WORKERS) as pool:
            round_trips(lambda x: pool.apply(math.sqrt, (x,)), xs, WARM)
    elif tool == "process-pool-executor":
        with concurrent.futures.ProcessPoolExecutor(WORKERS) as ex:
            round_trips(lambda x: ex.submit(math.sqrt, x).result(), xs, WARM)
    elif tool == "dask":
        with dask_client() as client:
            round_trips(lambda x: client.submit(math.sqrt, x, pure=False).result(), xs, WARM)


if __name__ == "__main__":
    main()
