"""Memoization: keys made as Swift's MemoKey makes them, single flight through the engine's memo locks."""
import asyncio
import ctypes
import functools
import hashlib
import inspect
import json
import time

from . import _native as n
from . import _values
from ._errors import raise_for


def request_key(namespace, version, request):
    """The store key of `request` (a JSON value, usually the whole body of an API call)
    under `namespace` and `version`: `memo/NAMESPACE/VERSION/HASH`, with HASH the SHA-256
    of the request's canonical encoding, exactly as Swift's MemoKey makes it, so that the
    same request memoized from Swift and from Python is one entry. Member order and number
    spelling do not matter; any value that differs gives another key."""
    if not isinstance(namespace, str) or not isinstance(version, str):
        raise TypeError("namespace and version must be str")
    _values.check_json(request, "the request", exact_numbers=True)
    return _key(namespace, version, _values.json_text(request))


def _key(namespace, version, request_text):
    out = ctypes.create_string_buffer(n.MEMO_KEY_MAX)
    status = n.memo_key(namespace.encode("utf-8"), version.encode("utf-8"), request_text, len(request_text),
                        out, n.MEMO_KEY_MAX)
    if status != n.OK:
        raise_for(status)
    return out.value.decode("utf-8")


def _begin(handle, key, wait):
    """(status, lock, result text): OK with the result, OK with the lock, or BUSY."""
    lock = ctypes.c_void_p()
    entry = ctypes.c_void_p()
    length = ctypes.c_size_t()
    status = n.memo_begin(handle, key.encode("utf-8"), 1 if wait else 0, ctypes.byref(lock), ctypes.byref(entry),
                          ctypes.byref(length))
    if status not in (n.OK, n.BUSY):
        raise_for(status)
    text = n.take_bytes(entry, length.value) if entry.value else None
    return status, lock if lock.value else None, text


def _elapsed_us(start):
    return int((time.monotonic() - start) * 1_000_000)


def _finish(handle, lock, value, start, ttl_ms):
    """Stores a computed result (which must be a JSON value) and releases the lock."""
    try:
        _values.check_json(value, "the result")
        text = _values.json_text(value)
    except BaseException:
        n.memo_abandon(handle, lock, _elapsed_us(start))
        raise
    status = n.memo_finish(handle, lock, text, len(text), _elapsed_us(start), ttl_ms)
    if status != n.OK:
        raise_for(status)


def memoize_call(cache, key, compute, ttl_ms):
    """The stored result of `key`, or `compute()`'s, stored; one computation at a time per
    key across threads and processes."""
    handle = cache._h()
    status, lock, text = _begin(handle, key, wait=True)
    if lock is None:
        return json.loads(text)
    # From here on the lock is released whatever happens (it is this process's until then:
    # a waiter elsewhere would wait for as long as this process lives).
    start = time.monotonic()
    try:
        value = compute()
    except BaseException:
        n.memo_abandon(handle, lock, _elapsed_us(start))
        raise
    _finish(handle, lock, value, start, ttl_ms)
    return value


async def memoize_call_async(cache, key, compute, ttl_ms):
    """memoize_call for a coroutine function: waiting for another computation polls the
    key's lock with pauses from 1 to 50 ms instead of blocking the event loop."""
    pause = 0.001
    while True:
        handle = cache._h()
        status, lock, text = _begin(handle, key, wait=False)
        if status == n.BUSY:
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
            continue
        if lock is None:
            return json.loads(text)
        break
    start = time.monotonic()
    try:
        value = await compute()
    except BaseException:
        n.memo_abandon(handle, lock, _elapsed_us(start))
        raise
    _finish(handle, lock, value, start, ttl_ms)
    return value


def full_name(func):
    """The namespace of a function memoized without a name: its module and qualified name,
    as diskcache's full_name makes it."""
    return f"{func.__module__}.{func.__qualname__}"


def source_hash(func):
    """A short hash of a function's source, for include_source=True."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError) as error:
        raise TypeError(f"include_source=True needs the source of {full_name(func)}: {error}") from None
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def decorator(cache, name, version, ignore, expire, include_source):
    """The decorator of Cache.memoize."""
    from ._cache import ttl_milliseconds

    if callable(name):
        raise TypeError("memoize must be called: use @cache.memoize(), not @cache.memoize")
    ttl_ms = ttl_milliseconds(expire)
    ignored = frozenset(ignore)

    def wrap(func):
        namespace = name if name is not None else full_name(func)
        key_version = f"{version}+{source_hash(func)}" if include_source else str(version)
        signature = inspect.signature(func)

        def key_of(args, kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            request = {}
            for parameter, value in bound.arguments.items():
                if parameter in ignored:
                    continue
                kind = signature.parameters[parameter].kind
                if kind is inspect.Parameter.VAR_POSITIONAL:
                    value = list(value)
                _values.check_json(value, f"argument {parameter!r} of {namespace}", exact_numbers=True)
                request[parameter] = value
            return _key(namespace, key_version, _values.json_text(request))

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                key = key_of(args, kwargs)
                return await memoize_call_async(cache, key, lambda: func(*args, **kwargs), ttl_ms)

            async_wrapper.__cache_key__ = lambda *a, **kw: key_of(a, kw)
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = key_of(args, kwargs)
            return memoize_call(cache, key, lambda: func(*args, **kwargs), ttl_ms)

        wrapper.__cache_key__ = lambda *a, **kw: key_of(a, kw)
        return wrapper

    return wrap
