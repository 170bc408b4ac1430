import Synchronization

/// A store handle's memoization state: the computations in flight and the statistics.
final class MemoState: Sendable {
    /// Flights by store key.
    let flights = Lock<[String: MemoFlight]>([:])
    /// Statistics by namespace.
    let statistics = Lock<[String: MemoStatistics]>([:])

    init() {}

    /// The flight of `key`: a new one that the caller leads, or the one in progress it joins.
    func join(_ key: MemoKey) -> (flight: MemoFlight, leader: Bool) {
        flights.withLock { table in
            if let existing = table[key.storeKey] { return (existing, false) }
            let flight = MemoFlight()
            table[key.storeKey] = flight
            return (flight, true)
        }
    }

    /// Ends the leader's flight: later callers start afresh (and find the stored result), the
    /// waiters get `outcome`.
    func land(_ flight: MemoFlight, key: MemoKey, outcome: MemoFlight.Outcome) {
        flights.withLock { table in
            if table[key.storeKey] === flight { table[key.storeKey] = nil }
        }
        flight.finish(outcome)
    }

    /// Updates the statistics of `namespace`.
    func count(_ namespace: String, _ change: (inout MemoStatistics) -> Void) {
        statistics.withLock { change(&$0[namespace, default: MemoStatistics()]) }
    }
}
