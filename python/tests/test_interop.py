"""The same store from Python, Swift and cachectl."""
import json

import logcache
from conftest import run_tool


def test_cachectl_and_swift_read_what_python_wrote(store_dir):
    with logcache.Cache(store_dir) as cache:
        cache.set("b", b"raw bytes")
        cache.set("t", "some text")
        cache.set("j", {"a": [1, 2]})
    assert run_tool("cachectl", "get", store_dir, "b").stdout == b"raw bytes"
    assert run_tool("cachectl", "get", store_dir, "t").stdout == b"some text"
    assert json.loads(run_tool("cachectl", "get", store_dir, "j").stdout) == {"a": [1, 2]}
    for key, expected in (("b", "bytes raw bytes"), ("t", "text some text"), ("j", 'json {"a":[1,2]}')):
        assert run_tool("logcache-worker", "typed-get", store_dir, key).stdout.decode().split("\n")[0] == expected


def test_python_reads_what_cachectl_wrote(store_dir):
    run_tool("cachectl", "init", store_dir)
    run_tool("cachectl", "put", store_dir, "greeting", "hello")
    with logcache.Cache(store_dir) as cache:
        assert cache["greeting"] == b"hello"  # written without a type: bytes


def test_export_import_keeps_types(store_dir, tmp_path):
    with logcache.Cache(store_dir) as cache:
        cache.set("t", "text")
        cache.set("j", [1, "x"])
        cache.set("b", b"\x00")
    dump = tmp_path / "dump.jsonl"
    run_tool("cachectl", "export", store_dir, "--output", str(dump))
    copy = str(tmp_path / "copy")
    run_tool("cachectl", "import", copy, str(dump))
    with logcache.Cache(copy) as cache:
        assert cache["t"] == "text" and cache["j"] == [1, "x"] and cache["b"] == b"\x00"
