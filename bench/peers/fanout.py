#!/usr/bin/python3
"""Workload 5: N HTTP GETs, 64 at a time, to the servers listed in
$BENCH_URLS (comma-separated), each thread keeping its connections open."""

import concurrent.futures
import http.client
import multiprocessing.pool
import os
import threading
import urllib.parse

from common import args, timed

TOOLS = ["thread-pool-executor", "joblib-threading", "mp-threadpool"]
CONC = 64

URLS = [urllib.parse.urlsplit(u) for u in os.environ["BENCH_URLS"].split(",")]
local = threading.local()


def get(i):
    u = URLS[i % len(URLS)]
    conns = getattr(local, "conns", None)
    if conns is None:
        conns = local.conns = {}
    conn = conns.get(u.netloc)
    if conn is None:
        conn = conns[u.netloc] = http.client.HTTPConnection(u.netloc)
    conn.request("GET", u.path or "/")
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"GET {u.geturl()}: {resp.status}")
    return len(body)


def main():
    tool, n = args(TOOLS)
    idx = range(n)
    if tool == "thread-pool-executor":
        with concurrent.futures.ThreadPoolExecutor(CONC) as ex:
            timed(lambda: list(ex.map(get, idx)))
    elif tool == "joblib-threading":
        from joblib import Parallel, delayed

        with Parallel(n_jobs=CONC, prefer="threads") as par:
            timed(lambda: par(delayed(get)(i) for i in idx))
    elif tool == "mp-threadpool":
        with multiprocessing.pool.ThreadPool(CONC) as pool:
            timed(lambda: pool.map(get, idx))


if __name__ == "__main__":
    main()
