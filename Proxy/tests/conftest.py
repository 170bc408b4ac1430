"""Fixtures: the fake upstream, and logcache-proxy processes in front of it on loopback."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from fake_upstream import Upstream  # noqa: E402

PROXY_ROOT = Path(__file__).resolve().parents[1]


def proxy_binary():
    override = os.environ.get("LOGCACHE_PROXY")
    if override:
        return override
    path = PROXY_ROOT / ".build" / "debug" / "logcache-proxy"
    if not path.exists():
        pytest.fail(f"{path} is missing: build Proxy/ first (tools/test does)")
    return str(path)


class ProxyProcess:
    def __init__(self, store, upstream_url, *args):
        self.process = subprocess.Popen(
            [proxy_binary(), "--store", store, "--upstream", upstream_url, "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        if not m:
            self.process.kill()
            raise AssertionError(f"the proxy did not start: {line!r} {self.process.stderr.read()}")
        self.url = f"http://{m.group(1)}:{m.group(2)}"
        self.lines = []

    def stop(self):
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.lines = out.splitlines()


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture
def start_proxy(tmp_path):
    started = []

    def start(upstream_url, *args, store=None):
        p = ProxyProcess(store or str(tmp_path / "store"), upstream_url, *args)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free loopback port, stopped afterwards."""
    import shutil
    import time
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.fail("redis-server is not installed (tools/test installs it)")
    port = free_port()
    directory = tmp_path / "redis"
    directory.mkdir()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket
    deadline = time.time() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.time() > deadline:
            process.kill()
            pytest.fail("redis-server did not answer within 10 s")
        time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()
