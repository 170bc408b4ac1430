#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a file (`flock`), released by the kernel when the holder closes it
/// or dies, so a killed process can never leave the store locked.
final class FileLock: Sendable {
    private let file: File

    /// Opens (creating) the lock file at `path`.
    init(path: String) throws(CacheError) {
        file = try File.open(path, flags: O_RDWR | O_CREAT)
    }

    /// Takes the lock exclusively without waiting; false when another holder has it.
    func tryLockExclusive() throws(CacheError) -> Bool {
        if retryingEINTR({ flock(file.fd, LOCK_EX | LOCK_NB) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw .io(operation: "lock", path: file.path, errno: errno)
    }

    /// Takes the lock shared (any number of shared holders, no exclusive one) without
    /// waiting; false when an exclusive holder has it.
    func tryLockShared() throws(CacheError) -> Bool {
        if retryingEINTR({ flock(file.fd, LOCK_SH | LOCK_NB) }) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw .io(operation: "lock", path: file.path, errno: errno)
    }

    /// Takes the lock exclusively, waiting for other holders to release it (or die).
    func lockExclusive() throws(CacheError) {
        guard retryingEINTR({ flock(file.fd, LOCK_EX) }) == 0 else {
            throw .io(operation: "lock", path: file.path, errno: errno)
        }
    }

    /// Releases the lock.
    func unlock() {
        _ = flock(file.fd, LOCK_UN)
    }
}
