#!/usr/bin/python3
"""Workload 2: N CPU-bound jobs of 5 ms each on 2 workers, pools started
and warmed before the clock starts."""

import concurrent.futures
import multiprocessing

from common import WORKERS, args, dask_client, spin, timed

TOOLS = ["serial", "joblib-threading", "joblib-loky", "mp-pool",
         "process-pool-executor", "dask"]


def main():
    tool, n = args(TOOLS)
    jobs = [5] * n
    if tool == "serial":
        timed(lambda: [spin(ms) for ms in jobs])
    elif tool in ("joblib-threading", "joblib-loky"):
        from joblib import Parallel, delayed

        prefer = "threads" if tool == "joblib-threading" else None
        with Parallel(n_jobs=WORKERS, prefer=prefer) as par:
            par(delayed(spin)(0) for _ in range(4))
            timed(lambda: par(delayed(spin)(ms) for ms in jobs))
    elif tool == "mp-pool":
        with multiprocessing.Pool(WORKERS) as pool:
            pool.map(spin, [0] * 4)
            timed(lambda: pool.map(spin, jobs))
    elif tool == "process-pool-executor":
        with concurrent.futures.ProcessPoolExecutor(WORKERS) as ex:
            list(ex.map(spin, [0] * 4))
            timed(lambda: list(ex.map(spin, jobs)))
    elif tool == "dask":
        with dask_client() as client:
            client.gather(client.map(spin, [0] * 4, pure=False))
            timed(lambda: client.gather(client.map(spin, jobs, pure=False)))


if __name__ == "__main__":
    main()
