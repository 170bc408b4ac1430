"""ctypes declarations of include/logcache.h, and the library they are bound to."""
import ctypes
import os
from pathlib import Path

OK = 0
NOT_FOUND = 1
BUFFER_TOO_SMALL = 2
BUSY = 3
ERR_INVALID_ARGUMENT = 10
ERR_INVALID_KEY = 11
ERR_VALUE_TOO_LARGE = 12
ERR_CLOSED = 13
ERR_NOT_A_STORE = 14
ERR_CORRUPT = 15
ERR_INCOMPATIBLE_FORMAT = 16
ERR_LOCKED = 17
ERR_IO = 18
ERR_INVALID_REQUEST = 19
ERR_CACHED_FAILURE = 20
ERR_INTERNAL = 99

TYPE_BYTES = 0
TYPE_TEXT = 1
TYPE_JSON = 2
TYPE_PICKLE = 3

MEMO_KEY_MAX = 512
ABI_VERSION = 1


class Options(ctypes.Structure):
    """logcache_options_t."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("capacity", ctypes.c_int64),
        ("max_entries", ctypes.c_int64),
        ("policy", ctypes.c_char_p),
        ("compression", ctypes.c_char_p),
        ("zstd_level", ctypes.c_int32),
        ("default_ttl_ms", ctypes.c_int64),
        ("durability", ctypes.c_char_p),
    ]


def _library_path():
    override = os.environ.get("LOGCACHE_LIBRARY")
    if override:
        return override
    return str(Path(__file__).resolve().parent / "liblogcache.so")


_p = ctypes.c_void_p
_size = ctypes.c_size_t
_size_p = ctypes.POINTER(ctypes.c_size_t)
_u8_p = ctypes.POINTER(ctypes.c_uint8)

lib = ctypes.CDLL(_library_path())


def _declare(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


abi_version = _declare("logcache_abi_version", ctypes.c_int)
last_error = _declare("logcache_last_error", ctypes.c_char_p)
free = _declare("logcache_free", None, _p)
options_init = _declare("logcache_options_init", None, ctypes.POINTER(Options))
open_store = _declare("logcache_open", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(_p))
close = _declare("logcache_close", ctypes.c_int, _p)
release = _declare("logcache_release", None, _p)
get = _declare("logcache_get", ctypes.c_int, _p, ctypes.c_char_p, _size, _p, _size, _size_p, _u8_p)
get_alloc = _declare("logcache_get_alloc", ctypes.c_int, _p, ctypes.c_char_p, _size, ctypes.POINTER(_p), _size_p, _u8_p)
set_value = _declare("logcache_set", ctypes.c_int, _p, ctypes.c_char_p, _size, ctypes.c_char_p, _size, ctypes.c_uint8,
                     ctypes.c_int64)
delete = _declare("logcache_delete", ctypes.c_int, _p, ctypes.c_char_p, _size, ctypes.POINTER(ctypes.c_int))
contains = _declare("logcache_contains", ctypes.c_int, _p, ctypes.c_char_p, _size)
get_many = _declare("logcache_get_many", ctypes.c_int, _p, _size, ctypes.POINTER(ctypes.c_char_p), _size_p,
                    ctypes.POINTER(_p), _size_p, _u8_p, _size_p)
set_many = _declare("logcache_set_many", ctypes.c_int, _p, _size, ctypes.POINTER(ctypes.c_char_p), _size_p,
                    ctypes.POINTER(ctypes.c_char_p), _size_p, _u8_p, ctypes.c_int64)
clear = _declare("logcache_clear", ctypes.c_int, _p, ctypes.POINTER(ctypes.c_uint64))
count = _declare("logcache_count", ctypes.c_int, _p, ctypes.POINTER(ctypes.c_uint64))
stats_json = _declare("logcache_stats_json", ctypes.c_int, _p, ctypes.POINTER(_p))
check = _declare("logcache_check", ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_p))
memo_key = _declare("logcache_memo_key", ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, _size,
                    ctypes.c_char_p, _size)
memo_begin = _declare("logcache_memo_begin", ctypes.c_int, _p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_p),
                      ctypes.POINTER(_p), _size_p)
memo_finish = _declare("logcache_memo_finish", ctypes.c_int, _p, _p, ctypes.c_char_p, _size, ctypes.c_int64,
                       ctypes.c_int64)
memo_abandon = _declare("logcache_memo_abandon", ctypes.c_int, _p, _p, ctypes.c_int64)

if abi_version() != ABI_VERSION:
    raise ImportError(f"{_library_path()} has C interface version {abi_version()}; this package needs {ABI_VERSION}")


def take_bytes(pointer, length):
    """Copies `length` bytes at a library-allocated `pointer` and frees it."""
    try:
        return ctypes.string_at(pointer, length)
    finally:
        free(pointer)


def take_text(pointer):
    """The NUL-terminated bytes at a library-allocated `pointer`, freed."""
    try:
        return ctypes.string_at(pointer)
    finally:
        free(pointer)
