"""How Python values become typed bytes in the store, and back."""
import json
import pickle

from . import _native as n

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def check_json(value, where, exact_numbers=False, _depth=0):
    """Raises TypeError naming `where` unless `value` is a JSON value: None, bool, int,
    float (finite), str, list, or dict with str keys, nested. With `exact_numbers` (for
    keys), ints must fit 64 bits: a larger one has no exact key."""
    if _depth > 500:
        raise TypeError(f"{where} is nested more than 500 levels deep")
    t = type(value)
    if value is None or t is bool or t is str:
        return
    if t is int:
        if exact_numbers and not (_INT64_MIN <= value <= _INT64_MAX):
            raise TypeError(f"{where} holds the integer {value}, which does not fit 64 bits and has no exact memo key")
        return
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError(f"{where} holds {value}, which JSON cannot represent")
        return
    if t is list:
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]", exact_numbers, _depth + 1)
        return
    if t is dict:
        for k, item in value.items():
            if type(k) is not str:
                raise TypeError(f"{where} has a key of type {type(k).__name__}; JSON objects have str keys")
            check_json(item, f"{where}[{k!r}]", exact_numbers, _depth + 1)
        return
    raise TypeError(f"{where} is of type {t.__name__}, which is not a JSON value (None, bool, int, float, str, list, dict)")


def json_text(value):
    """The compact JSON text of a value already checked with check_json."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def key_bytes(key):
    """A key as bytes: str as UTF-8, bytes as they are."""
    if type(key) is str:
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"a key must be str or bytes, not {type(key).__name__}")


def encode(value, serializer):
    """(type, bytes) of a value to store."""
    t = type(value)
    if t is bytes:
        return n.TYPE_BYTES, value
    if isinstance(value, (bytearray, memoryview)):
        return n.TYPE_BYTES, bytes(value)
    if t is str:
        return n.TYPE_TEXT, value.encode("utf-8")
    try:
        check_json(value, "the value")
    except TypeError:
        if serializer == "pickle":
            return n.TYPE_PICKLE, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        raise
    return n.TYPE_JSON, json_text(value)


def decode(kind, data, serializer):
    """The Python value of stored bytes of a type."""
    if kind == n.TYPE_TEXT:
        return data.decode("utf-8")
    if kind == n.TYPE_JSON:
        return json.loads(data)
    if kind == n.TYPE_PICKLE:
        if serializer != "pickle":
            from ._errors import Error

            raise Error("the value is a pickle; open the cache with serializer=\"pickle\" to read it "
                        "(unpickling runs code from the store)")
        return pickle.loads(data)
    return data
