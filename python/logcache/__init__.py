"""LogCache from Python: a compressed, log-structured cache store on disk that many
processes share safely, with diskcache's habits.

    import logcache

    cache = logcache.Cache("/var/cache/llm", capacity="10GiB")

    @cache.memoize(version="1")
    def complete(prompt, temperature=0.0):
        return call_the_model(prompt, temperature)

The same directory is readable from Swift and with `cachectl`. See docs/python.md.
"""
from ._cache import Cache, parse_size
from ._errors import (
    CachedFailure,
    ClosedError,
    CorruptStoreError,
    Error,
    IncompatibleFormatError,
    InvalidKeyError,
    InvalidRequestError,
    LockedError,
    NotAStoreError,
    StoreIOError,
    ValueTooLargeError,
)
from ._memo import full_name, request_key

__version__ = "0.1.0"

__all__ = [
    "Cache",
    "CachedFailure",
    "ClosedError",
    "CorruptStoreError",
    "Error",
    "IncompatibleFormatError",
    "InvalidKeyError",
    "InvalidRequestError",
    "LockedError",
    "NotAStoreError",
    "StoreIOError",
    "ValueTooLargeError",
    "full_name",
    "parse_size",
    "request_key",
]
