"""logcache.Cache: a store directory opened from Python."""
import ctypes
import json
import os
import re
import threading

from . import _native as n
from . import _values
from ._errors import ClosedError, Error, error_for, raise_for

_ENCODING_BUFFER = 64 << 10
# A thread's read buffer grows to the largest value it read, up to this; a larger value is
# read into memory of its own, so that one huge value does not stay allocated per thread.
_LARGEST_BUFFER = 4 << 20

# Handles inherited across fork(): a child never closes or releases them (closing would
# release file locks that belong to the parent, since flock belongs to the open file
# description both share). They are kept here so that nothing frees them either; so are
# the closed handles check() replaced.
_inherited = []

# Moves on in every child of a fork: a Cache whose handle was opened at another generation
# is in a child and opens its own (cheaper than asking for the process id on every call).
_generation = 0
_fork_lock = threading.Lock()


def _after_fork_in_child():
    global _generation, _fork_lock
    _generation += 1
    _fork_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}


def parse_size(size, what):
    """Bytes from an int or a string such as "10GiB", "512 MB", "4096"."""
    if size is None:
        return 0
    if isinstance(size, bool):
        raise TypeError(f"{what} must be an int or a size string, not bool")
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"{what} must be positive, not {size}")
        return size
    if isinstance(size, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", size)
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"{what} {size!r} is not a size: a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
        if value <= 0:
            raise ValueError(f"{what} {size!r} must be positive")
        return value
    raise TypeError(f"{what} must be an int or a size string, not {type(size).__name__}")


def ttl_milliseconds(seconds, what="expire"):
    """The C interface's TTL (0: the store's default) from seconds (None: the default)."""
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(seconds).__name__}")
    if not seconds > 0:
        raise ValueError(f"{what} must be a positive number of seconds, not {seconds}")
    ms = int(-(-seconds * 1000 // 1))  # rounded up: a positive TTL never becomes 0
    return max(ms, 1)


def _check(status):
    if status != n.OK:
        raise_for(status)


_MISSING = object()


class Cache:
    """A LogCache store in `directory`, created when missing or empty.

    The store settings (capacity, max_entries, policy, compression, default_ttl) apply when
    the store is created; an existing store keeps its own. Durability is this handle's.
    Many processes and threads may use one directory at once. A Cache opened before
    os.fork() (or a multiprocessing pool) works in the children: each child notices the
    new process id and opens its own handle.
    """

    def __init__(self, directory, *, capacity=None, max_entries=None, policy="lru", compression="zstd",
                 default_ttl=None, durability="none", serializer="json"):
        if serializer not in ("json", "pickle"):
            raise ValueError(f"serializer must be \"json\" or \"pickle\", not {serializer!r}")
        self.directory = os.fspath(directory)
        self.serializer = serializer
        self._settings = dict(
            capacity=parse_size(capacity, "capacity"),
            max_entries=parse_size(max_entries, "max_entries"),
            policy=str(policy),
            compression=str(compression),
            default_ttl_ms=ttl_milliseconds(default_ttl, "default_ttl"),
            durability=self._durability(durability),
        )
        self._lock = threading.Lock()
        self._local = threading.local()
        self._handle = None
        self._closed = False
        self._open()

    @staticmethod
    def _durability(durability):
        if durability in ("none", "sync"):
            return durability
        if isinstance(durability, (int, float)) and not isinstance(durability, bool) and durability > 0:
            return f"interval:{max(1, int(durability * 1000))}"
        raise ValueError(f"durability must be \"none\", \"sync\" or seconds between syncs, not {durability!r}")

    def _open(self):
        o = n.Options()
        n.options_init(ctypes.byref(o))
        s = self._settings
        o.capacity = s["capacity"]
        o.max_entries = s["max_entries"]
        o.policy = s["policy"].encode()
        o.compression = s["compression"].encode()
        o.default_ttl_ms = s["default_ttl_ms"]
        o.durability = s["durability"].encode()
        handle = ctypes.c_void_p()
        _check(n.open_store(self.directory.encode(), ctypes.byref(o), ctypes.byref(handle)))
        self._handle = handle
        self._pid = os.getpid()
        self._generation = _generation

    def _h(self):
        """The handle of this process: a child of a fork opens its own."""
        if self._generation == _generation and not self._closed:
            return self._handle
        if self._closed:
            raise ClosedError(f"the cache {self.directory} is closed")
        if self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():
                    # A lock another thread held at the fork would stay held here for ever.
                    self._lock = threading.Lock()
                    _inherited.append(self._handle)
                    self._handle = None
                    self._local = threading.local()
                    self._open()
        self._generation = _generation
        return self._handle

    # Opening and closing

    def close(self):
        """Flushes and closes the store. Closing twice is fine; other calls then raise ClosedError."""
        if self._closed:
            return
        self._closed = True
        if self._handle is not None and self._pid == os.getpid():
            _check(n.close(self._handle))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and getattr(self, "_pid", None) == os.getpid():
            self._handle = None
            n.release(handle)

    def __getstate__(self):
        raise TypeError("a Cache cannot be pickled; open one in each process with the same directory")

    # Values

    def _reader(self, size=_ENCODING_BUFFER):
        """This thread's read state: a buffer of at least `size` bytes, a view of it, and
        the length and type cells with their pointers, made once per thread (each ctypes
        object made per call costs as much as a read of a small hot value)."""
        r = getattr(self._local, "reader", None)
        if r is None or len(r[0]) < size:
            buffer = ctypes.create_string_buffer(max(size, _ENCODING_BUFFER))
            length, kind = ctypes.c_size_t(), ctypes.c_uint8()
            r = (buffer, memoryview(buffer), length, kind, ctypes.byref(length), ctypes.byref(kind))
            self._local.reader = r
        return r

    def _read(self, key):
        """(type, bytes) of key's value, or None."""
        k = key.encode("utf-8") if type(key) is str else _values.key_bytes(key)
        h = self._h()
        buffer, view, length, kind, length_p, kind_p = self._reader()
        while True:
            status = n.get(h, k, len(k), buffer, len(buffer), length_p, kind_p)
            if status == n.OK:
                return kind.value, view[:length.value].tobytes()
            if status == n.NOT_FOUND:
                return None
            if status == n.BUFFER_TOO_SMALL:
                if length.value > _LARGEST_BUFFER:
                    return self._read_allocated(h, k)
                buffer, view, length, kind, length_p, kind_p = self._reader(length.value)
                continue
            raise_for(status)

    @staticmethod
    def _read_allocated(h, k):
        value = ctypes.c_void_p()
        length = ctypes.c_size_t()
        kind = ctypes.c_uint8()
        status = n.get_alloc(h, k, len(k), ctypes.byref(value), ctypes.byref(length), ctypes.byref(kind))
        if status == n.NOT_FOUND:
            return None
        _check(status)
        return kind.value, n.take_bytes(value, length.value)

    def get(self, key, default=None):
        """The value of `key`, or `default` when it has none (or it expired)."""
        found = self._read(key)
        if found is None:
            return default
        kind, data = found
        # Bytes, the common case, need no decoding step.
        return data if kind == n.TYPE_BYTES else _values.decode(kind, data, self.serializer)

    def set(self, key, value, expire=None):
        """Stores `value` under `key`: bytes, str, or a JSON value (None, bool, int, float,
        list, dict); with serializer="pickle" anything picklable. `expire`: seconds the value
        lives (None: the store's default TTL, if any). Returns True."""
        k = _values.key_bytes(key)
        kind, data = _values.encode(value, self.serializer)
        _check(n.set_value(self._h(), k, len(k), data, len(data), kind, ttl_milliseconds(expire)))
        return True

    def delete(self, key):
        """Removes `key`'s value; True when there was one."""
        k = _values.key_bytes(key)
        removed = ctypes.c_int()
        _check(n.delete(self._h(), k, len(k), ctypes.byref(removed)))
        return removed.value == 1

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value):
        self.set(key, value)

    def __delitem__(self, key):
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key):
        k = _values.key_bytes(key)
        status = n.contains(self._h(), k, len(k))
        if status == n.OK:
            return True
        if status == n.NOT_FOUND:
            return False
        raise_for(status)

    def __len__(self):
        entries = ctypes.c_uint64()
        _check(n.count(self._h(), ctypes.byref(entries)))
        return entries.value

    def get_many(self, keys):
        """{key: value} for the keys of `keys` that have a value (read in one batch)."""
        keys = list(keys)
        if not keys:
            return {}
        raw = [_values.key_bytes(k) for k in keys]
        count = len(raw)
        key_array = (ctypes.c_char_p * count)(*raw)
        key_lengths = (ctypes.c_size_t * count)(*[len(k) for k in raw])
        values = (ctypes.c_void_p * count)()
        lengths = (ctypes.c_size_t * count)()
        kinds = (ctypes.c_uint8 * count)()
        found = ctypes.c_size_t()
        _check(n.get_many(self._h(), count, key_array, key_lengths, values, lengths, kinds, ctypes.byref(found)))
        result = {}
        pending = None
        for i, key in enumerate(keys):
            if values[i]:
                data = n.take_bytes(values[i], lengths[i])
                if pending is None:
                    try:
                        result[key] = _values.decode(kinds[i], data, self.serializer)
                    except Exception as error:  # free every buffer before raising
                        pending = error
        if pending is not None:
            raise pending
        return result

    def set_many(self, mapping, expire=None):
        """Stores every (key, value) of `mapping` in one batch, all with the same `expire`.
        Every key and value is checked before any is written."""
        items = list(mapping.items())
        if not items:
            return
        count = len(items)
        keys, values, kinds = [], [], []
        for key, value in items:
            keys.append(_values.key_bytes(key))
            kind, data = _values.encode(value, self.serializer)
            kinds.append(kind)
            values.append(data)
        _check(n.set_many(
            self._h(), count, (ctypes.c_char_p * count)(*keys), (ctypes.c_size_t * count)(*[len(k) for k in keys]),
            (ctypes.c_char_p * count)(*values), (ctypes.c_size_t * count)(*[len(v) for v in values]),
            (ctypes.c_uint8 * count)(*kinds), ttl_milliseconds(expire)))

    def clear(self):
        """Removes every entry; returns how many there were."""
        removed = ctypes.c_uint64()
        _check(n.clear(self._h(), ctypes.byref(removed)))
        return removed.value

    def stats(self):
        """The store's statistics (the Swift `Statistics` fields) as a dict."""
        out = ctypes.c_void_p()
        _check(n.stats_json(self._h(), ctypes.byref(out)))
        return json.loads(n.take_text(out))

    def check(self, fix=False):
        """Checks the store's files (as `cachectl fsck`) and, with fix=True, repairs them;
        returns the problems found, as strings (an empty list for a clean store).

        It needs the store closed everywhere: this handle is closed for the check and
        opened again after; with a handle open elsewhere it raises LockedError. Other
        threads must not use this Cache meanwhile."""
        self._h()
        with self._lock:
            _check(n.close(self._handle))
            try:
                out = ctypes.c_void_p()
                status = n.check(self.directory.encode(), 1 if fix else 0, ctypes.byref(out))
                failure = None if status == n.OK else error_for(status)
                report = json.loads(n.take_text(out)) if status == n.OK else None
            finally:
                # The closed handle is kept, not freed: a thread that ignored the rule above
                # then gets ClosedError from it rather than freed memory.
                _inherited.append(self._handle)
                self._open()
        if failure is not None:
            raise failure
        return [self._problem_text(p) for p in report.get("problems", [])]

    @staticmethod
    def _problem_text(problem):
        where = problem.get("file", "")
        if problem.get("offset") is not None:
            where += f" at {problem['offset']}"
        return f"{where}: {problem.get('what', '')}"

    # Memoization

    def memoize(self, name=None, version="1", ignore=(), expire=None, include_source=False):
        """A decorator that stores each call's result under a key of its arguments.

        The key's namespace is `name`, or the function's module and qualified name; then
        `version`; then the call's arguments bound to their parameter names (positional and
        keyword alike, defaults applied) and canonically encoded as Swift's MemoKey encodes
        the same JSON, so that the same request memoized from Swift is the same entry.
        `ignore` leaves parameters out by name; `include_source=True` puts a hash of the
        function's source in the version, so that editing the function misses. Arguments
        and results must be JSON values (TypeError naming the parameter otherwise).
        Exceptions are not stored. One caller computes a key at a time, across threads and
        processes; a killed computing process passes the key to the next waiter. An
        `async def` function gets an async wrapper.
        """
        from ._memo import decorator

        return decorator(self, name, version, ignore, expire, include_source)

    def memoize_request(self, namespace, version, request, compute, expire=None):
        """The stored result for `request` (a JSON value, such as the whole body of an API
        call), or `compute()`'s result, stored under request_key(namespace, version, request)."""
        from ._memo import memoize_call, request_key

        return memoize_call(self, request_key(namespace, version, request), compute, ttl_milliseconds(expire))

    def __repr__(self):
        return f"logcache.Cache({self.directory!r})"


__all__ = ["Cache", "Error", "parse_size"]
