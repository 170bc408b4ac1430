#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a mutual-exclusion lock (`pthread_mutex_t`).
///
/// The library uses this rather than the standard library's `Mutex`: on Linux that one hands
/// a contended lock to the next thread inside the kernel (priority-inheritance futexes), where
/// ThreadSanitizer cannot see it, so every contended critical section looks like a data race
/// to `swift test --sanitize=thread` and a real race would be lost among them. A pthread mutex
/// is one ThreadSanitizer knows, and costs the same here.
final class Lock<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init(_ value: Value) {
        self.value = value
        mutex = allocatePthreadLock(pthread_mutex_t()) { pthread_mutex_init($0, nil) }
    }

    deinit { freePthreadLock(mutex, pthread_mutex_destroy) }

    /// Runs `body` with the value, alone.
    func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
