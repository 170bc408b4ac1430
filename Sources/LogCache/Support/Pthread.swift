#if canImport(Glibc)
import Glibc
#endif

/// Allocates a pthread lock of type `P` and sets it up with `setUp` (`pthread_mutex_init`,
/// `pthread_rwlock_init`): a pthread lock must not move once initialised, so it lives in an
/// allocation of its own, freed by ``freePthreadLock(_:_:)``.
func allocatePthreadLock<P>(_ zero: P, _ setUp: (UnsafeMutablePointer<P>) -> Int32) -> UnsafeMutablePointer<P> {
    let p = UnsafeMutablePointer<P>.allocate(capacity: 1)
    p.initialize(to: zero)
    _ = setUp(p)
    return p
}

/// Tears a lock from ``allocatePthreadLock(_:_:)`` down with `tearDown` and frees it.
func freePthreadLock<P>(_ p: UnsafeMutablePointer<P>, _ tearDown: (UnsafeMutablePointer<P>) -> Int32) {
    _ = tearDown(p)
    p.deallocate()
}
