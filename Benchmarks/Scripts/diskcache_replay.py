#!/usr/bin/env python3
"""Replays a workload file of the comparison runner (PeerBenchmark) on Python's diskcache.

    diskcache_replay.py WORKLOAD FILE DIRECTORY

WORKLOAD is llm, cache, large, reopen or processes; FILE is the workload file the runner wrote (its
layout is described in Sources/PeerBenchmark/WorkloadFile.swift). Prints one JSON object
mapping the runner's row ids to figures, in the runner's units.

diskcache runs with its defaults (SQLite in WAL mode with synchronous=NORMAL, values of
32 KB and more in files of their own, values stored as given, without compression) except
for size_limit, raised so that it never evicts: the other stores keep everything too.
"""
import json
import multiprocessing
import os
import random
import struct
import subprocess
import sys
import time
from array import array

import diskcache

NEVER_EVICT = 1 << 50
MASK = (1 << 64) - 1


def mix(x):
    """SplitMix64's finalizer, as BenchData.key uses it."""
    z = x & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def key(prefix, i):
    return prefix + b"%016x" % mix(i)


def value(pool, index, i):
    """pool[index] with bytes 8..<24 replaced by the hex digits of key id i."""
    v = pool[index]
    return v[:8] + b"%016x" % i + v[24:]


def read_workload(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"LCWL0001":
        sys.exit("not a workload file: " + path)
    at = 8
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    pool = []
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, at)
        pool.append(data[at + 4:at + 4 + n])
        at += 4 + n
    (n,) = struct.unpack_from("<H", data, at)
    prefix = data[at + 2:at + 2 + n]
    at += 2 + n
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    phases = {}
    for _ in range(count):
        (n,) = struct.unpack_from("<H", data, at)
        name = data[at + 2:at + 2 + n].decode()
        at += 2 + n
        (length,) = struct.unpack_from("<Q", data, at)
        at += 8
        values = array("I")
        values.frombytes(data[at:at + 4 * length])
        if sys.byteorder != "little":
            values.byteswap()
        phases[name] = values
        at += 4 * length
    return pool, prefix, phases


def open_cache(directory):
    return diskcache.Cache(directory, size_limit=NEVER_EVICT)


def disk_usage(path):
    """Allocated bytes under path, as du counts them."""
    total = 0
    for root, _, files in os.walk(path):
        total += os.lstat(root).st_blocks * 512
        for name in files:
            total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def load_batched(cache, n, batch, pool, key_of):
    """Keys 0 ..< n in transactions of batch sets, as the runner's batched loads (rows 3, 6, 7)."""
    for s in range(0, n, batch):
        with cache.transact():
            for i in range(s, min(n, s + batch)):
                cache.set(key_of(i), value(pool, i % len(pool), i))


def check(cache, k, expected, what):
    if cache.get(k) != expected:
        sys.exit("%s: wrong or missing value for key %s" % (what, k.decode()))


def run_llm(pool, prefix, phases, directory):
    load = phases["load"]
    lookups = phases["lookups"]
    batch = phases["params"][0]
    entries = len(load) // 2
    keys = [key(prefix, i) for i in range(max(lookups) + 1)]
    out = {}
    cache = open_cache(directory)
    start = time.perf_counter()
    for j in range(entries):
        i, p = load[2 * j], load[2 * j + 1]
        cache.set(keys[i], value(pool, p, i))
    out["1.write"] = time.perf_counter() - start

    # Best of three passes, as the runner does for these short rows.
    out["1.get"] = float("inf")
    for _ in range(3):
        hits = 0
        start = time.perf_counter()
        for i in lookups:
            if cache.get(keys[i]) is not None:
                hits += 1
        out["1.get"] = min(out["1.get"], time.perf_counter() - start)

    # diskcache has no call for many keys: a batch is lookups in a loop.
    batches = [[keys[i] for i in lookups[s:s + batch]] for s in range(0, len(lookups), batch)]
    out["1.batch"] = float("inf")
    for _ in range(3):
        batch_hits = 0
        start = time.perf_counter()
        for b in batches:
            for k in b:
                if cache.get(k) is not None:
                    batch_hits += 1
        out["1.batch"] = min(out["1.batch"], time.perf_counter() - start)
    expected = sum(1 for i in lookups if i < entries)
    if hits != expected or batch_hits != expected:
        sys.exit("llm: %d and %d hits, expected %d" % (hits, batch_hits, expected))
    for i in range(0, entries, 97):
        check(cache, keys[i], value(pool, i % len(pool), i), "llm")
    cache.close()
    out["1.disk"] = disk_usage(directory) / 1e6
    return out


def run_cache(pool, prefix, phases, directory):
    load = phases["load"]
    gets = phases["gets"]
    ops = phases["mix"]
    batch = phases["params"][0]
    n = len(load) // 2
    keys = [key(prefix, i) for i in range(n)]
    npool = len(pool)
    out = {}
    cache = open_cache(directory)
    start = time.perf_counter()
    load_batched(cache, n, batch, pool, keys.__getitem__)
    out["3.load"] = n / (time.perf_counter() - start)
    cache.close()
    out["3.disk"] = disk_usage(directory) / 1e6

    cache = open_cache(directory)
    for i in range(0, n, max(1, n // 1000)):
        check(cache, keys[i], value(pool, i % npool, i), "load")
    for k in keys:
        cache.get(k)
    hits = 0
    start = time.perf_counter()
    for i in gets:
        if cache.get(keys[i]) is not None:
            hits += 1
    elapsed = time.perf_counter() - start
    if hits != len(gets):
        sys.exit("cache: %d of %d warm gets hit" % (hits, len(gets)))
    out["4.get"] = len(gets) / elapsed

    count = len(ops) // 2
    start = time.perf_counter()
    for j in range(count):
        i, p = ops[2 * j], ops[2 * j + 1]
        if p == 0xFFFFFFFF:
            cache.get(keys[i])
        else:
            cache.set(keys[i], value(pool, p, i))
    out["2.mix"] = count / (time.perf_counter() - start)
    cache.close()
    return out


def run_large(pool, prefix, phases, directory):
    load = phases["load"]
    reads = phases["reads"]
    count = len(load) // 2
    keys = [key(prefix, i) for i in range(count)]
    total = count * len(pool[0])
    out = {}
    cache = open_cache(directory)
    start = time.perf_counter()
    for j in range(count):
        i, p = load[2 * j], load[2 * j + 1]
        cache.set(keys[i], value(pool, p, i))
    # diskcache writes value files without fsync and has no flush of its own: sync() is
    # what an application has to call to know the data is on the disk.
    os.sync()
    out["5.write"] = total / (time.perf_counter() - start) / 1e6
    start = time.perf_counter()
    for i in reads:
        if cache.get(keys[i]) is None:
            sys.exit("large: miss")
    out["5.read"] = total / (time.perf_counter() - start) / 1e6
    check(cache, keys[0], value(pool, 0, 0), "large")
    cache.close()
    return out


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_reopen(pool, prefix, phases, directory):
    out = {}
    for n in phases["counts"]:
        path = "%s-%d" % (directory, n)
        cache = open_cache(path)
        load_batched(cache, n, 1000, pool, lambda i: key(prefix, i))
        cache.close()
        probe = key(prefix, n // 2).decode()
        result = subprocess.run([sys.executable, __file__, "open-child", path, probe],
                                capture_output=True, text=True, check=True)
        open_time, first, gained = (float(x) for x in result.stdout.split())
        out["6.open.%d" % n] = open_time
        out["6.first.%d" % n] = first * 1e3
        out["6.rss.%d" % n] = gained / n
        subprocess.run(["rm", "-rf", path], check=True)
    return out


def open_child(directory, probe):
    """In a fresh interpreter (diskcache already imported): open, then one lookup."""
    before = resident_bytes()
    start = time.perf_counter()
    cache = open_cache(directory)
    open_time = time.perf_counter() - start
    gained = resident_bytes() - before
    start = time.perf_counter()
    found = cache.get(probe.encode()) is not None
    first = time.perf_counter() - start
    if not found:
        sys.exit("probe key not found after reopening")
    print(open_time, first, gained)
    cache.close()


def mix_child(directory, pool, keys, ops, share, barrier, results):
    """One of several processes on one cache: its own handle, opened after the fork as
    diskcache asks, then its share of the mix once every process is ready. The pool and
    keys come through the fork, not pickled."""
    cache = open_cache(directory)
    barrier.wait()
    start = time.monotonic_ns()
    misses = wrong = 0
    for j in share:
        i, p = ops[2 * j], ops[2 * j + 1]
        if p == 0xFFFFFFFF:
            v = cache.get(keys[i])
            if v is None:
                misses += 1
            elif j % 64 == 0 and (len(v) != 1024 or v[8:24] != b"%016x" % i):
                wrong += 1
        else:
            cache.set(keys[i], value(pool, p, i))
    end = time.monotonic_ns()
    cache.close()
    results.put((start, end, len(share), misses, wrong))


def run_processes(pool, prefix, phases, directory):
    """Workload 7: the cache mix from 1, 2, 4 and 8 processes at once (CLOCK_MONOTONIC, shared
    by all processes, from the first start to the last end)."""
    load = phases["load"]
    ops = phases["mix"]
    batch = phases["params"][0]
    counts = list(phases["params"][1:])
    n = len(load) // 2
    keys = [key(prefix, i) for i in range(n)]
    cache = open_cache(directory)
    load_batched(cache, n, batch, pool, keys.__getitem__)
    cache.close()
    forked = multiprocessing.get_context("fork")
    total = len(ops) // 2
    out = {}
    for count in counts:
        barrier = forked.Barrier(count)
        results = forked.Queue()
        children = [forked.Process(target=mix_child, args=(
            directory, pool, keys, ops, range(total * k // count, total * (k + 1) // count), barrier, results))
            for k in range(count)]
        for c in children:
            c.start()
        reports = [results.get() for _ in children]
        for c in children:
            c.join()
            if c.exitcode != 0:
                sys.exit("processes: a child exited with %d" % c.exitcode)
        if sum(r[3] for r in reports) or sum(r[4] for r in reports):
            sys.exit("processes: gets missed or values were wrong")
        operations = sum(r[2] for r in reports)
        if operations != total:
            sys.exit("processes: %d of %d operations ran" % (operations, total))
        span = max(r[1] for r in reports) - min(r[0] for r in reports)
        out["7.mix.%d" % count] = operations / (span / 1e9)
    return out


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "open-child":
        open_child(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    workload, path, directory = sys.argv[1:]
    runs = {"llm": run_llm, "cache": run_cache, "large": run_large, "reopen": run_reopen,
            "processes": run_processes}
    if workload not in runs:
        sys.exit("unknown workload " + workload)
    pool, prefix, phases = read_workload(path)
    print(json.dumps(runs[workload](pool, prefix, phases, directory)))


if __name__ == "__main__":
    main()
