#!/usr/bin/python3
"""Workloads 3 and 6: N square roots on 2 worker processes, pools started
and warmed before the clock starts."""

import math
import multiprocessing

from common import WORKERS, args, dask_client, timed

TOOLS = ["mp-pool", "joblib-loky", "dask"]


def main():
    tool, n = args(TOOLS)
    xs = [float(i) for i in range(n)]
    warm = xs[:1000]
    if tool == "mp-pool":
        with multiprocessing.Pool(WORKERS) as pool:
            pool.map(math.sqrt, warm)
            timed(lambda: pool.map(math.sqrt, xs))
    elif tool == "joblib-loky":
        from joblib import Parallel, delayed

        with Parallel(n_jobs=WORKERS) as par:
            par(delayed(math.sqrt)(x) for x in warm)
            timed(lambda: par(delayed(math.sqrt)(x) for x in xs))
    elif tool == "dask":
        import dask.bag as db

        with dask_client():
            db.from_sequence(warm, npartitions=WORKERS).map(math.sqrt).compute()
            timed(lambda: db.from_sequence(xs, npartitions=20).map(math.sqrt).compute())


if __name__ == "__main__":
    main()
