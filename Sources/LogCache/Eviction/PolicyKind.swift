/// The eviction policies a store can be created with; kept in the store's manifest so that
/// every process that opens it evicts the same way.
public enum PolicyKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: a hit or a set counts as a use.
    case lru = 1
    /// Least frequently used, ties broken by who reached the frequency first.
    case lfu = 2
    /// Soonest expiry first; entries without expiry after them, in LRU order.
    case ttl = 3
    /// Insertion order.
    case fifo = 4

    /// The name used on the command line and in statistics.
    public var description: String {
        switch self {
        case .lru: "lru"
        case .lfu: "lfu"
        case .ttl: "ttl"
        case .fifo: "fifo"
        }
    }

    /// The policy with the command-line name `name`, if any.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = kind
    }
}
