"""Memoization: keys, single flight in and across processes, interop with Swift."""
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import logcache
from conftest import ROOT, run_tool, swift_tool


def test_request_key_ignores_member_order_and_number_spelling():
    a = logcache.request_key("chat", "1", {"model": "m", "temperature": 1.0, "n": 2})
    b = logcache.request_key("chat", "1", {"n": 2.0, "temperature": 1, "model": "m"})
    assert a == b and a.startswith("memo/chat/1/") and len(a.split("/")[-1]) == 64
    assert logcache.request_key("chat", "1", {"model": "m", "temperature": 0.7, "n": 2}) != a
    assert logcache.request_key("chat", "2", {"model": "m", "temperature": 1.0, "n": 2}) != a
    with pytest.raises(TypeError, match="64 bits"):
        logcache.request_key("chat", "1", {"seed": 1 << 70})
    with pytest.raises(logcache.InvalidRequestError, match="/"):
        logcache.request_key("a/b", "1", {})


def test_request_key_is_swifts_memo_key():
    request = {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "max_tokens": 20}
    swift = run_tool("logcache-worker", "key", "chat", "3", "chat", input=json.dumps(request).encode())
    assert swift.stdout.decode().strip() == logcache.request_key("chat", "3", request)


def test_memoize_keys_on_bound_arguments(store_dir):
    calls = []
    with logcache.Cache(store_dir) as cache:
        @cache.memoize(version="1", ignore=("verbose",))
        def f(x, y=2, *rest, verbose=False, **options):
            calls.append((x, y, rest, options))
            return {"x": x, "y": y, "rest": list(rest), "options": options}

        assert f(1) == f(1, 2) == f(x=1) == f(1, y=2, verbose=True)
        assert len(calls) == 1
        f(1, 3)
        f(1, 2, 5)
        f(1, mode="fast")
        assert len(calls) == 4
        with pytest.raises(TypeError, match="'x'"):
            f(object())
        assert f.__cache_key__(1).startswith("memo/" + logcache.full_name(f) + "/1/")


def test_memoize_name_version_and_source(store_dir):
    with logcache.Cache(store_dir) as cache:
        count = []

        def g(x):
            count.append(x)
            return x * 2

        one = cache.memoize(name="calc", version="1")(g)
        two = cache.memoize(name="calc", version="2")(g)
        src = cache.memoize(name="calc", version="1", include_source=True)(g)
        assert one(4) == two(4) == src(4) == 8
        assert len(count) == 3
        assert one(4) == 8 and len(count) == 3
        assert "+" in src.__cache_key__(4).split("/")[2]


def test_exceptions_are_not_stored(store_dir):
    with logcache.Cache(store_dir) as cache:
        attempts = []

        @cache.memoize()
        def flaky(x):
            attempts.append(x)
            if len(attempts) == 1:
                raise RuntimeError("rate limited")
            return "ok"

        with pytest.raises(RuntimeError):
            flaky(1)
        assert flaky(1) == "ok" and flaky(1) == "ok"
        assert attempts == [1, 1]

        @cache.memoize()
        def not_json(x):
            return (1, 2)

        with pytest.raises(TypeError):
            not_json(1)
        with pytest.raises(TypeError):
            not_json(1)  # nothing was stored, and the lock was released


def test_memoize_request(store_dir):
    with logcache.Cache(store_dir) as cache:
        body = {"model": "m", "messages": [{"role": "user", "content": "q"}], "temperature": 0}
        calls = []
        compute = lambda: calls.append(1) or {"choices": [{"message": {"content": "a"}}]}
        first = cache.memoize_request("openai", "1", body, compute)
        second = cache.memoize_request("openai", "1", dict(reversed(list(body.items()))), compute)
        assert first == second and len(calls) == 1
        cache.memoize_request("openai", "1", {**body, "temperature": 0.2}, compute)
        assert len(calls) == 2


def test_single_flight_across_threads(store_dir):
    with logcache.Cache(store_dir) as cache:
        calls = []

        @cache.memoize()
        def slow(x):
            calls.append(x)
            time.sleep(0.2)
            return x

        threads = [threading.Thread(target=slow, args=(i % 2,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(calls) == [0, 1]


def test_async_memoize(store_dir):
    with logcache.Cache(store_dir) as cache:
        calls = []

        @cache.memoize()
        async def fetch(x):
            calls.append(x)
            await asyncio.sleep(0.1)
            return {"x": x}

        async def main():
            return await asyncio.gather(*[fetch(i % 3) for i in range(9)])

        results = asyncio.run(main())
        assert results == [{"x": i % 3} for i in range(9)]
        assert sorted(calls) == [0, 1, 2]


def test_python_and_swift_share_memoized_results(store_dir):
    with logcache.Cache(store_dir) as cache:
        calls = []

        @cache.memoize(name="interop", version="1")
        def ask(prompt, temperature, max_tokens):
            calls.append(prompt)
            return {"text": f"python: {prompt}", "tokens": max_tokens}

        assert ask("from python", 0.5, 7) == {"text": "python: from python", "tokens": 7}
        swift = run_tool("logcache-worker", "memo-interop", store_dir, "from python", "0.5", "7")
        assert swift.stdout.decode().split("\n")[0] == "hit python: from python 7"

        swift = run_tool("logcache-worker", "memo-interop", store_dir, "from swift", "1.0", "3")
        assert swift.stdout.decode().split("\n")[0] == "computed swift: from swift 3"
        assert ask("from swift", 1, 3) == {"text": "swift: from swift", "tokens": 3}
        assert calls == ["from python"]
    listed = run_tool("cachectl", "list", store_dir).stdout.decode()
    assert listed.count("memo/interop/1/") == 2


POOL_SCRIPT = r"""
import multiprocessing, os, sys, time
sys.path.insert(0, {tests!r})
import logcache
cache = logcache.Cache({store!r})
log = {log!r}

@cache.memoize(name="pool")
def work(x):
    with open(log, "a") as f:
        f.write(f"{{x}} {{os.getpid()}}\n")
    time.sleep(0.05)
    return x * x

if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    with multiprocessing.Pool(8) as pool:
        results = pool.map(work, [i % 12 for i in range(96)], chunksize=1)
    assert results == [(i % 12) ** 2 for i in range(96)], results
    print("ok", len(cache))
"""


def test_pool_workers_compute_each_key_once(store_dir, tmp_path):
    log = tmp_path / "computed.log"
    log.write_text("")
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT.format(tests=os.path.dirname(__file__), store=store_dir, log=str(log)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok 12"
    computed = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(computed, key=int) == [str(i) for i in range(12)], computed


def test_fork_child_opens_its_own_handle(store_dir):
    cache = logcache.Cache(store_dir)
    cache.set("parent", 1)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            cache.set("child", 2)
            code = 0 if cache["parent"] == 1 and cache["child"] == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    # The parent's handle still works and still holds its locks: a check is refused.
    assert cache["child"] == 2
    cache.set("after", 3)
    with pytest.raises(logcache.LockedError):
        _check_from_other_process(store_dir)
    cache.close()


def _check_from_other_process(store_dir):
    out = subprocess.run([swift_tool("cachectl"), "fsck", store_dir], capture_output=True, text=True)
    if out.returncode != 0 and "locked" in out.stderr:
        raise logcache.LockedError(out.stderr)
    raise AssertionError(f"fsck ran while the parent had the store open: {out.returncode} {out.stdout} {out.stderr}")


KILL_SCRIPT = r"""
import sys, time
sys.path.insert(0, {tests!r})
import logcache
cache = logcache.Cache({store!r})
@cache.memoize(name="killed")
def slow(x):
    print("computing", flush=True)
    time.sleep(float(sys.argv[1]))
    return "done by " + sys.argv[2]
print("result", slow(1), flush=True)
"""


def test_killed_computing_process_passes_the_key_on(store_dir, tmp_path):
    logcache.Cache(store_dir).close()
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT.format(tests=os.path.dirname(__file__), store=store_dir))
    first = subprocess.Popen([sys.executable, str(script), "30", "first"], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "computing"
    second = subprocess.Popen([sys.executable, str(script), "0", "second"], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert second.poll() is None  # waiting for the first one's lock
    first.send_signal(signal.SIGKILL)
    first.wait()
    out, _ = second.communicate(timeout=60)
    assert out.splitlines() == ["computing", "result done by second"]
    with logcache.Cache(store_dir) as cache:
        @cache.memoize(name="killed")
        def slow(x):
            raise AssertionError("must be a hit")

        assert slow(1) == "done by second"
