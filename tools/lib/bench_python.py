"""LogCache against diskcache and against sqlite3 + zstandard, from Python, in one run.

Run by tools/bench-python. Two workloads:

1. 1 KiB values: N sets (each its own call), then N gets of those keys in random order.
2. LLM responses: 3,500 JSON responses of about 160 KB stored, then 10,000 lookups of which
   65% miss (keys never stored); the hits are compared with zstd's own decompression of the
   same values from memory (zstandard, level 3), the floor for any store that compresses.

The sqlite3 peer is the design of a cache that moved from JSON files to SQLite + zstd: WAL
journal, synchronous=NORMAL, the key as primary key, the value a zstd-compressed blob (level 3).
Every figure is the median of ROUNDS runs, the stores taking turns in each round.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time

import diskcache
import zstandard

import logcache

WORDS = ("the model answer tokens cache request prompt system user assistant content response choice "
         "function tool call temperature index message result value token stream completion json text").split()


def text_value(rng, size):
    out = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        out.append(w)
        n += len(w) + 1
    return (" ".join(out))[:size].encode()


def response(rng, size):
    """An OpenAI-style chat completion of about `size` bytes of JSON."""
    body = {
        "id": "chatcmpl-%016x" % rng.getrandbits(64),
        "object": "chat.completion",
        "created": 1_700_000_000 + rng.randrange(10_000_000),
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text_value(rng, size).decode()}}],
        "usage": {"prompt_tokens": rng.randrange(100, 4000), "completion_tokens": rng.randrange(100, 4000)},
    }
    return json.dumps(body).encode()


class CacheStore:
    """A store whose cache object already has set, get and close (LogCache, diskcache)."""

    def __init__(self, path):
        self.c = self.open(path)
        self.set, self.get, self.close = self.c.set, self.c.get, self.c.close


class LogCacheStore(CacheStore):
    name = "LogCache"
    open = staticmethod(logcache.Cache)


class DiskcacheStore(CacheStore):
    name = "diskcache"
    open = staticmethod(diskcache.Cache)


class SQLiteZstdStore:
    name = "sqlite3+zstd"

    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.db = sqlite3.connect(os.path.join(path, "cache.db"), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB)")
        self.cctx = zstandard.ZstdCompressor(level=3)
        self.dctx = zstandard.ZstdDecompressor()

    def set(self, k, v):
        self.db.execute("INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)", (k, self.cctx.compress(v)))

    def get(self, k):
        row = self.db.execute("SELECT value FROM cache WHERE key = ?", (k,)).fetchone()
        return None if row is None else self.dctx.decompress(row[0])

    def close(self):
        self.db.close()


STORES = (LogCacheStore, DiskcacheStore, SQLiteZstdStore)


def small_values(store_class, root, keys, values, order):
    path = tempfile.mkdtemp(dir=root)
    try:
        s = store_class(path)
        start = time.perf_counter()
        for k, v in zip(keys, values):
            s.set(k, v)
        set_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for i in order:
            if s.get(keys[i]) is None:
                raise AssertionError(f"{store_class.name} lost {keys[i]}")
        get_seconds = time.perf_counter() - start
        s.close()
        return len(keys) / set_seconds, len(order) / get_seconds
    finally:
        shutil.rmtree(path, ignore_errors=True)


def responses(store_class, root, keys, values, lookups, expected):
    path = tempfile.mkdtemp(dir=root)
    try:
        s = store_class(path)
        for k, v in zip(keys, values):
            s.set(k, v)
        start = time.perf_counter()
        hits = 0
        for k in lookups:
            got = s.get(k)
            if got is not None:
                hits += 1
        seconds = time.perf_counter() - start
        if hits != expected:
            raise AssertionError(f"{store_class.name}: {hits} hits, expected {expected}")
        s.close()
        return seconds
    finally:
        shutil.rmtree(path, ignore_errors=True)


def zstd_floor(values, hit_indices):
    """Seconds for zstandard to decompress the hits' values from memory (level 3)."""
    cctx = zstandard.ZstdCompressor(level=3)
    dctx = zstandard.ZstdDecompressor()
    frames = {i: cctx.compress(values[i]) for i in set(hit_indices)}
    start = time.perf_counter()
    for i in hit_indices:
        dctx.decompress(frames[i])
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=20_000, help="1 KiB values set and read")
    parser.add_argument("--responses", type=int, default=3_500)
    parser.add_argument("--response-bytes", type=int, default=160_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--miss", type=float, default=0.65)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the stores go (default: a temporary directory)")
    args = parser.parse_args()

    rng = random.Random(7)
    root = tempfile.mkdtemp(prefix="bench-python-", dir=args.dir)
    try:
        keys = [f"key-{i:08d}" for i in range(args.small)]
        values = [text_value(rng, 1024) for _ in keys]
        order = list(range(len(keys)))
        rng.shuffle(order)
        sets = {c.name: [] for c in STORES}
        gets = {c.name: [] for c in STORES}
        for r in range(args.rounds):
            for c in STORES[r % len(STORES):] + STORES[:r % len(STORES)]:
                s, g = small_values(c, root, keys, values, order)
                sets[c.name].append(s)
                gets[c.name].append(g)

        rkeys = [f"request-{i:06d}" for i in range(args.responses)]
        rvalues = [response(rng, args.response_bytes) for _ in rkeys]
        lookups, hit_indices = [], []
        for _ in range(args.lookups):
            if rng.random() < args.miss:
                lookups.append(f"absent-{rng.getrandbits(48):012x}")
            else:
                i = rng.randrange(len(rkeys))
                lookups.append(rkeys[i])
                hit_indices.append(i)
        times = {c.name: [] for c in STORES}
        floors = []
        for r in range(args.rounds):
            for c in STORES[r % len(STORES):] + STORES[:r % len(STORES)]:
                times[c.name].append(responses(c, root, rkeys, rvalues, lookups, len(hit_indices)))
            floors.append(zstd_floor(rvalues, hit_indices))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    med = statistics.median
    print(f"1 KiB values, {args.small} sets then {args.small} gets, median of {args.rounds} rounds (ops/s):")
    for c in STORES:
        print(f"  {c.name:14s} set {med(sets[c.name]):>10,.0f}   get {med(gets[c.name]):>10,.0f}")
    lc = "LogCache"
    for c in STORES[1:]:
        print(f"  LogCache / {c.name}: set {med(sets[lc]) / med(sets[c.name]):.2f}x, get {med(gets[lc]) / med(gets[c.name]):.2f}x")
    size = sum(map(len, rvalues)) / len(rvalues)
    print(f"\n{args.responses} responses of {size / 1000:.0f} KB, {args.lookups} lookups, "
          f"{len(hit_indices)} hits ({100 * (1 - len(hit_indices) / args.lookups):.0f}% miss), median of {args.rounds} rounds:")
    floor = med(floors)
    print(f"  {'zstd floor':14s} {floor * 1000:8.1f} ms  (zstandard decompressing the hits from memory)")
    for c in STORES:
        t = med(times[c.name])
        print(f"  {c.name:14s} {t * 1000:8.1f} ms  {t / floor:5.2f}x the floor")


if __name__ == "__main__":
    main()
