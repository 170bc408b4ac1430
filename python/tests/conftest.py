"""Shared fixtures: a fresh store directory per test, and the Swift executables of the
debug build (cachectl, logcache-worker) for the interop tests."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bin_dir():
    override = os.environ.get("LOGCACHE_BIN_DIR")
    if override:
        return Path(override)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True)
    return Path(out.stdout.strip()) if out.returncode == 0 else ROOT / ".build" / "debug"


BIN = _bin_dir()


@pytest.fixture
def store_dir(tmp_path):
    return str(tmp_path / "store")


def swift_tool(name):
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `swift build` first (tools/test does)")
    return str(path)


def run_tool(name, *args, input=None, check=True, timeout=120):
    result = subprocess.run([swift_tool(name), *args], input=input, capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} exited {result.returncode}: {result.stderr.decode()}")
    return result
