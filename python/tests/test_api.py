"""Every call of logcache.Cache on real stores."""
import os
import time

import pytest

import logcache


def test_values_keep_their_python_type(store_dir):
    with logcache.Cache(store_dir) as cache:
        values = {
            "bytes": b"\x00\xffraw",
            "empty-bytes": b"",
            "text": "héllo wörld",
            "none": None,
            "bool": True,
            "int": 12345678901234567890123,
            "float": 1.0,
            "list": [1, "two", 3.5, None, [False]],
            "dict": {"a": {"b": [1, 2]}, "é": "x"},
        }
        for k, v in values.items():
            assert cache.set(k, v) is True
        for k, v in values.items():
            got = cache[k]
            assert got == v and type(got) is type(v), k
        assert cache.get(b"bytes") == b"\x00\xffraw"  # a str key is its UTF-8 bytes
        assert isinstance(cache["float"], float)


@pytest.mark.parametrize("bad", [(1, 2), {1, 2}, object(), {"k": (1,)}, {1: "int key"}, float("nan"), [float("inf")]])
def test_values_that_are_not_json_raise_typeerror(store_dir, bad):
    with logcache.Cache(store_dir) as cache:
        with pytest.raises(TypeError) as info:
            cache.set("k", bad)
        assert "k" not in cache
        assert "JSON" in str(info.value) or "type" in str(info.value)


def test_pickle_only_when_asked(store_dir):
    with logcache.Cache(store_dir, serializer="pickle") as cache:
        cache.set("p", {"t": (1, 2), "s": {3}})
        cache.set("j", {"plain": 1})
        assert cache["p"] == {"t": (1, 2), "s": {3}}
        assert cache["j"] == {"plain": 1}
    with logcache.Cache(store_dir) as plain:
        assert plain["j"] == {"plain": 1}
        with pytest.raises(logcache.Error, match="pickle"):
            plain["p"]


def test_mapping_protocol(store_dir):
    with logcache.Cache(store_dir) as cache:
        with pytest.raises(KeyError):
            cache["missing"]
        with pytest.raises(KeyError):
            del cache["missing"]
        assert cache.get("missing") is None and cache.get("missing", 7) == 7
        cache["a"] = 1
        cache[b"\x01\x02"] = "binary key"
        assert "a" in cache and b"\x01\x02" in cache and "b" not in cache
        assert len(cache) == 2
        del cache["a"]
        assert "a" not in cache and len(cache) == 1
        assert cache.delete(b"\x01\x02") is True and cache.delete(b"\x01\x02") is False
        assert len(cache) == 0


def test_batches(store_dir):
    with logcache.Cache(store_dir) as cache:
        mapping = {f"k{i}": ({"i": i} if i % 3 else f"text {i}" * 50) for i in range(500)}
        cache.set_many(mapping, expire=60)
        got = cache.get_many(list(mapping) + ["absent"])
        assert got == mapping
        assert cache.get_many([]) == {}
        assert cache.clear() == 500
        assert len(cache) == 0 and cache.get_many(["k1"]) == {}


def test_batch_checks_every_entry_before_writing(store_dir):
    with logcache.Cache(store_dir) as cache:
        with pytest.raises(TypeError):
            cache.set_many({"good": 1, "bad": (1,)})
        with pytest.raises(logcache.InvalidKeyError):
            cache.set_many({"good": 1, "": 2})
        assert "good" not in cache


def test_expiry(store_dir):
    with logcache.Cache(store_dir, default_ttl=0.3) as cache:
        cache.set("default", 1)
        cache.set("short", 2, expire=0.1)
        cache.set("long", 3, expire=60)
        time.sleep(0.45)
        assert "short" not in cache and "default" not in cache
        assert cache["long"] == 3
        with pytest.raises(ValueError):
            cache.set("x", 1, expire=0)
        with pytest.raises(ValueError):
            cache.set("x", 1, expire=-5)


def test_sizes_and_capacity(store_dir):
    assert logcache.parse_size("10GiB", "capacity") == 10 << 30
    assert logcache.parse_size("512 MB", "capacity") == 512_000_000
    assert logcache.parse_size(4096, "capacity") == 4096
    for bad in ("ten", "5 parsecs", "-1GiB", 0, -4):
        with pytest.raises(ValueError):
            logcache.parse_size(bad, "capacity")
    with logcache.Cache(store_dir, capacity="64KiB", compression="none") as cache:
        for i in range(400):
            cache.set(f"k{i}", os.urandom(1000))
        stats = cache.stats()
        assert stats["liveBytes"] <= 64 << 10
        assert stats["evictions"] > 0
        assert "k399" in cache and "k0" not in cache
        with pytest.raises(logcache.ValueTooLargeError):
            cache.set("huge", os.urandom(100 << 10))


def test_max_entries_and_policy(store_dir):
    with logcache.Cache(store_dir, max_entries=10, policy="sieve") as cache:
        for i in range(50):
            cache.set(i.__str__(), i)
        assert len(cache) == 10
    with pytest.raises(logcache.Error, match="policy"):
        logcache.Cache(store_dir + "-2", policy="bogus")


def test_stats_fields(store_dir):
    with logcache.Cache(store_dir) as cache:
        cache.set("a", "x" * 1000)
        cache.get("a")
        cache.get("b")
        stats = cache.stats()
        for field in ("entries", "liveBytes", "diskBytes", "hits", "misses", "writes", "evictions", "compactions"):
            assert field in stats, field
        assert stats["entries"] == 1 and stats["hits"] == 1 and stats["misses"] == 1 and stats["writes"] == 1


def test_closed_cache(store_dir):
    cache = logcache.Cache(store_dir)
    cache.set("a", 1)
    cache.close()
    cache.close()
    for call in (lambda: cache.get("a"), lambda: cache.set("a", 2), lambda: len(cache), lambda: "a" in cache):
        with pytest.raises(logcache.ClosedError):
            call()
    with logcache.Cache(store_dir) as again:
        assert again["a"] == 1


def test_key_limits(store_dir):
    with logcache.Cache(store_dir) as cache:
        with pytest.raises(logcache.InvalidKeyError, match="empty"):
            cache.set("", 1)
        with pytest.raises(logcache.InvalidKeyError, match="65535"):
            cache.set(b"k" * 65536, 1)
        cache.set(b"k" * 65535, 1)
        assert cache[b"k" * 65535] == 1
        with pytest.raises(TypeError):
            cache.set(3, 1)


def test_not_a_store(tmp_path):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("not a store")
    with pytest.raises(logcache.NotAStoreError, match="not a LogCache store"):
        logcache.Cache(str(junk))
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(logcache.NotAStoreError):
        logcache.Cache(str(afile))
    assert (junk / "notes.txt").read_text() == "not a store"


def test_check_and_repair(store_dir):
    cache = logcache.Cache(store_dir, compression="none")
    for i in range(100):
        cache.set(f"k{i}", f"value {i} " * 20)
    assert cache.check() == []
    other = logcache.Cache(store_dir)
    with pytest.raises(logcache.LockedError, match="locked"):
        cache.check()
    other.close()
    cache.close()
    # Damage one byte in the middle of the first segment.
    segment = sorted(p for p in os.listdir(store_dir) if p.endswith(".seg"))[0]
    path = os.path.join(store_dir, segment)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    cache = logcache.Cache(store_dir)
    problems = cache.check()
    assert problems and any(segment in p for p in problems)
    cache.check(fix=True)
    assert cache.check() == []
    survivors = sum(1 for i in range(100) if cache.get(f"k{i}") == f"value {i} " * 20)
    assert 90 <= survivors < 100
    for i in range(100):
        v = cache.get(f"k{i}")
        assert v is None or v == f"value {i} " * 20  # never a wrong value
    cache.close()


def test_durability_options(store_dir):
    for durability in ("none", "sync", 0.05):
        with logcache.Cache(store_dir, durability=durability) as cache:
            cache.set("k", durability if isinstance(durability, str) else 1)
    with pytest.raises(ValueError):
        logcache.Cache(store_dir, durability="sometimes")


def test_threads_share_one_cache(store_dir):
    import threading

    with logcache.Cache(store_dir) as cache:
        errors = []

        def work(t):
            try:
                for i in range(300):
                    cache.set(f"t{t}-{i}", {"t": t, "i": i})
                    assert cache.get(f"t{t}-{i}") == {"t": t, "i": i}
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(cache) == 2400


def test_large_values(store_dir):
    with logcache.Cache(store_dir) as cache:
        small, medium, large = os.urandom(100), os.urandom(300 << 10), os.urandom(6 << 20)
        cache.set("small", small)
        cache.set("medium", medium)
        cache.set("large", large)
        assert cache["large"] == large and cache["medium"] == medium and cache["small"] == small
        assert cache.get_many(["large", "small"]) == {"large": large, "small": small}


def test_value_over_the_engine_limit(store_dir):
    with logcache.Cache(store_dir) as cache:
        with pytest.raises(logcache.ValueTooLargeError, match="limit"):
            cache.set("huge", bytes((256 << 20) + 1))
        assert "huge" not in cache


def test_damaged_manifest_and_newer_format(store_dir):
    with logcache.Cache(store_dir) as cache:
        cache.set("k", "v")
    manifest = os.path.join(store_dir, "MANIFEST")
    data = bytearray(open(manifest, "rb").read())
    good = bytes(data)
    data[30] ^= 0xFF  # a reserved byte: the checksum no longer matches
    open(manifest, "wb").write(bytes(data))
    with pytest.raises(logcache.CorruptStoreError, match="damaged"):
        logcache.Cache(store_dir)
    # A manifest of a later format version (with a valid checksum) is refused by name.
    import struct

    def crc32c(b):
        crc = 0xFFFFFFFF
        for byte in b:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

    newer = bytearray(good)
    newer[8:12] = struct.pack("<I", 99)
    newer[-4:] = struct.pack("<I", crc32c(bytes(newer[:-4])))
    open(manifest, "wb").write(bytes(newer))
    with pytest.raises(logcache.IncompatibleFormatError, match="version 99"):
        logcache.Cache(store_dir)
    open(manifest, "wb").write(good)
    with logcache.Cache(store_dir) as cache:
        assert cache["k"] == "v"
