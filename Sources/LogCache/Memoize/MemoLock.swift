import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A lock on one memo key shared by every process that uses the store directory: the
/// process that holds it computes the key, the others wait for it.
///
/// It is an exclusive `flock(2)` on the file `DIR/memo-locks/HASH.lock`, with HASH the
/// SHA-256 of the key's ``MemoKey/storeKey``. The kernel releases an `flock` when its holder
/// exits, however it exits, so a killed process never leaves a key locked: the next waiter
/// gets the lock and takes over. There are no timeouts and no process ids involved.
///
/// The holder removes the lock file before it lets go, so that lock files do not pile up
/// one per key ever computed. A waiter may therefore get the lock of a file that no longer
/// has a name; it notices (the path is gone or names another file) and starts over on the
/// path's current file, so only the holder of the file that is linked at the path holds the
/// key's lock.
///
/// The lock is per open file, not per process: a second ``acquire(storeDirectory:key:)-7pb2g`` of the
/// same key in the same process waits like any other process would, so it must not be taken
/// twice by one thread.
public final class MemoLock: Sendable {
    /// The subdirectory of the store directory that holds the lock files.
    public static let directoryName = "memo-locks"

    /// The lock file.
    public let path: String
    private let file: File
    private let released = Atomic<Bool>(false)

    private init(path: String, file: File) {
        self.path = path
        self.file = file
    }

    deinit { release() }

    /// The lock file of `key` in the store at `storeDirectory`.
    public static func path(storeDirectory: String, key: MemoKey) -> String {
        storeDirectory + "/" + directoryName + "/" + SHA256.hex(SHA256.hash(key.storeKey.utf8)) + ".lock"
    }

    /// Takes the lock of `key`, waiting as long as another holder has it.
    ///
    /// - Throws: ``CacheError/corruptStore(path:detail:)`` when `memo-locks` is a symbolic
    ///   link or not a directory (lock files are never made through it), or an I/O error.
    public static func acquire(storeDirectory: String, key: MemoKey) throws(CacheError) -> MemoLock {
        let path = path(storeDirectory: storeDirectory, key: key)
        while true {
            if let lock = try attempt(path: path, storeDirectory: storeDirectory, wait: true) { return lock }
        }
    }

    /// Takes the lock of `key` when no one holds it; nil when someone does. Throws as
    /// the waiting `acquire` does.
    public static func tryAcquire(storeDirectory: String, key: MemoKey) throws(CacheError) -> MemoLock? {
        let path = path(storeDirectory: storeDirectory, key: key)
        while true {
            switch try attemptOnce(path: path, storeDirectory: storeDirectory, wait: false) {
            case .locked(let lock): return lock
            case .busy: return nil
            case .stale: continue
            }
        }
    }

    /// Takes the lock of `key`, suspending the task (not blocking its thread) while another
    /// holder has it: it tries again after a pause that grows from 1 ms to 50 ms.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting, or a ``CacheError``.
    public static func acquire(storeDirectory: String, key: MemoKey) async throws -> MemoLock {
        var pause = Duration.milliseconds(1)
        while true {
            if let lock = try tryAcquire(storeDirectory: storeDirectory, key: key) { return lock }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
    }

    /// Removes the lock file and releases the lock. Releasing again does nothing.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Unlink first, while still holding the lock: a waiter that gets this file's lock
        // afterwards sees it has no name any more and starts over.
        if Self.isLinked(file, at: path) { unlink(path) }
        _ = flock(file.fd, LOCK_UN)
    }

    // MARK: Taking the lock

    private enum Attempt {
        case locked(MemoLock)
        case busy
        /// The file locked had been removed by its last holder: start over.
        case stale
    }

    private static func attempt(path: String, storeDirectory: String, wait: Bool) throws(CacheError) -> MemoLock? {
        switch try attemptOnce(path: path, storeDirectory: storeDirectory, wait: wait) {
        case .locked(let lock): lock
        case .busy, .stale: nil
        }
    }

    private static func attemptOnce(path: String, storeDirectory: String, wait: Bool) throws(CacheError) -> Attempt {
        let directory = storeDirectory + "/" + directoryName
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw .io(operation: "create the lock directory", path: directory, errno: errno)
        }
        // Lock files are created and removed in it: it must be a directory of the store, not
        // a link to one elsewhere (the file's own open refuses only a link in its last part).
        var st = stat()
        guard lstat(directory, &st) == 0 else { throw .io(operation: "stat", path: directory, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .corruptStore(path: directory, detail: "not a directory (a symbolic link?); memo locks are not taken through it")
        }
        let file = try File.open(path, flags: O_RDWR | O_CREAT)
        if retryingEINTR({ flock(file.fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) }) != 0 {
            if errno == EWOULDBLOCK { return .busy }
            throw .io(operation: "lock", path: path, errno: errno)
        }
        guard isLinked(file, at: path) else { return .stale }   // closing the file unlocks it
        return .locked(MemoLock(path: path, file: file))
    }

    /// Whether `path` still names the open `file`.
    private static func isLinked(_ file: File, at path: String) -> Bool {
        var open = stat(), named = stat()
        guard fstat(file.fd, &open) == 0, stat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }
}
