"""The exceptions of the package: one per kind of failure the engine reports."""
from . import _native as n


class Error(Exception):
    """Anything the store refused or failed at; the message is the engine's."""


class ClosedError(Error):
    """The cache was closed."""


class InvalidKeyError(Error, ValueError):
    """A key that is empty or longer than 65,535 bytes."""


class ValueTooLargeError(Error, ValueError):
    """A value over the engine's limit (256 MiB) or larger than the store's capacity."""


class NotAStoreError(Error):
    """The directory is not a LogCache store (and is not empty), or not a directory."""


class CorruptStoreError(Error):
    """A file of the store is damaged beyond what opening works around; `check(fix=True)` repairs."""


class IncompatibleFormatError(Error):
    """The store was written in a format this build does not read."""


class LockedError(Error):
    """The store is held by fsck or repair, or (for `check`) open in another handle."""


class StoreIOError(Error, OSError):
    """A system call failed: a full disk, permissions."""


class InvalidRequestError(Error, ValueError):
    """A namespace, version or request that cannot make a memo key."""


class CachedFailure(Error):
    """The memo key holds a stored failure (stored by a Swift caller that caches failures)."""


_BY_STATUS = {
    n.ERR_INVALID_ARGUMENT: Error,
    n.ERR_INVALID_KEY: InvalidKeyError,
    n.ERR_VALUE_TOO_LARGE: ValueTooLargeError,
    n.ERR_CLOSED: ClosedError,
    n.ERR_NOT_A_STORE: NotAStoreError,
    n.ERR_CORRUPT: CorruptStoreError,
    n.ERR_INCOMPATIBLE_FORMAT: IncompatibleFormatError,
    n.ERR_LOCKED: LockedError,
    n.ERR_IO: StoreIOError,
    n.ERR_INVALID_REQUEST: InvalidRequestError,
    n.ERR_CACHED_FAILURE: CachedFailure,
}


def error_for(status):
    """The exception of an error status, with the message the library kept for it on this thread."""
    message = (n.last_error() or b"").decode("utf-8", "replace")
    return _BY_STATUS.get(status, Error)(message or f"logcache status {status}")


def raise_for(status):
    """Raises the exception of an error status."""
    raise error_for(status)
