import Synchronization

/// Counters of this handle's activity; atomics, because readers update them without a lock.
final class Counters: Sendable {
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let writes = Atomic<Int>(0)
    let deletes = Atomic<Int>(0)
    let expirations = Atomic<Int>(0)
    let tornRecordsDropped = Atomic<Int>(0)
    let evictions = Atomic<Int>(0)
    let evictedBytes = Atomic<Int>(0)
    let corruptRecords = Atomic<Int>(0)
}
