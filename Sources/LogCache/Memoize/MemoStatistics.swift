/// What memoization did in one namespace through one store handle since it was opened.
public struct MemoStatistics: Sendable, Equatable, Codable {
    /// Calls answered from the store without computing (a cached failure replayed counts too).
    public var hits: Int = 0
    /// Calls that ran the computation.
    public var misses: Int = 0
    /// Calls that found another caller in this process computing the same key, waited, and
    /// got its result (or its error) instead of computing.
    public var joined: Int = 0
    /// Computations that threw.
    public var failures: Int = 0
    /// Time spent in the computation on misses.
    public var computeTime: Duration = .zero
    /// The computation time recorded with each entry, summed over the hits: what the hits
    /// would have cost without the store.
    public var timeSaved: Duration = .zero

    /// Nothing yet.
    public init() {}
}
