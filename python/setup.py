"""Builds liblogcache.so with the Swift package manager and ships it inside the package.

`pip install ./python` from the repository root runs this: the library is built in
release mode from the Swift package one directory up (the repository root) and copied
next to the Python modules, as packages with a compiled core ship their native code.
LOGCACHE_LIBRARY=/path/to/liblogcache.so skips the build and ships that file instead.
"""
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class BuildWithLibrary(build_py):
    """build_py that also builds the Swift library and copies it into the package."""

    def run(self):
        super().run()
        library = os.environ.get("LOGCACHE_LIBRARY")
        if library:
            source = Path(library)
        else:
            if not (ROOT / "Package.swift").exists():
                raise SystemExit(
                    f"logcache: no Package.swift in {ROOT}; install from the repository (pip install ./python) "
                    "or set LOGCACHE_LIBRARY to a built liblogcache.so"
                )
            scratch = ROOT / ".build-python"
            command = ["swift", "build", "-c", "release", "--product", "logcache", "--scratch-path", str(scratch)]
            print("logcache: " + " ".join(command), flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
            binpath = subprocess.run(command + ["--show-bin-path"], cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout.strip()
            source = Path(binpath) / "liblogcache.so"
        if not source.exists():
            raise SystemExit(f"logcache: {source} was not built")
        target = Path(self.build_lib) / "logcache"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / "liblogcache.so")


class BinaryDistribution(Distribution):
    """The package holds a native library, so its wheel is for one platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
