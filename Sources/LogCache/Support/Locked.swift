#if canImport(Glibc)
import Glibc
#endif

/// A value behind a `pthread_rwlock_t`: ``read(_:)`` runs beside other readers,
/// ``write(_:)`` (``withLock(_:)``) runs alone.
///
/// One primitive serves both the store's index, read on every `value(forKey:)` so that readers
/// do not queue behind one another, and the mutexes used only exclusively: a readers-writer
/// lock taken for writing is a mutex, at the same cost when uncontended.
///
/// The library uses pthread locks rather than the standard library's `Mutex`: on Linux that
/// one hands a contended lock to the next thread inside the kernel (priority-inheritance
/// futexes), where ThreadSanitizer cannot see it, so every contended critical section looks
/// like a data race to `swift test --sanitize=thread` and a real race would be lost among
/// them. pthread locks are ones ThreadSanitizer knows.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    /// Allocated once: a pthread lock must not move after it is initialised.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with shared access.
    func read<R, E: Error>(_ body: (borrowing Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` with exclusive access.
    func write<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }

    /// Runs `body` with the value, alone: ``write(_:)``, named for values used only exclusively.
    @inline(__always)
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try write(body)
    }
}

/// A value used only exclusively.
typealias Lock<Value> = Locked<Value>

/// A value read by many threads at once and written by one.
typealias ReadWriteLock<Value> = Locked<Value>
