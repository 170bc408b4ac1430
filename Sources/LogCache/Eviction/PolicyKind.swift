/// The eviction policies a store can be created with; kept in the store's manifest so that
/// every process that opens it evicts the same way. Each is the implementation the trace
/// simulator runs under the same name, so `cachectl bench`'s choice is the store's behaviour.
public enum PolicyKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: a hit or a set counts as a use.
    case lru = 1
    /// Least frequently used, ties broken by who reached the frequency first.
    case lfu = 2
    /// Soonest expiry first; entries without expiry after them, in LRU order.
    case ttl = 3
    /// Insertion order.
    case fifo = 4
    /// Clock: FIFO order with a reference bit that gives a hit entry one more round.
    case clock = 5
    /// SIEVE: a FIFO queue and a hand that keeps visited entries where they are.
    case sieve = 6
    /// S3-FIFO: a small FIFO that filters one-hit wonders, a main FIFO, and ghosts.
    case s3fifo = 7
    /// W-TinyLFU: an LRU window, a segmented LRU, and admission by a frequency sketch.
    case wtinylfu = 8
    /// ARC: recency and frequency lists whose split adapts through ghosts.
    case arc = 9
    /// 2Q: a FIFO for new entries, an LRU for entries seen again, and ghosts.
    case twoQ = 10

    /// The name used on the command line and in statistics (the simulator's name).
    public var description: String {
        switch self {
        case .lru: "lru"
        case .lfu: "lfu"
        case .ttl: "ttl"
        case .fifo: "fifo"
        case .clock: "clock"
        case .sieve: "sieve"
        case .s3fifo: "s3-fifo"
        case .wtinylfu: "w-tinylfu"
        case .arc: "arc"
        case .twoQ: "2q"
        }
    }

    /// Every policy's name, for messages.
    public static var names: String { allCases.map(\.description).joined(separator: ", ") }

    /// The policy with the command-line name `name` (case-insensitive; "s3fifo", "wtinylfu",
    /// "tinylfu" and "twoq" also work), if any.
    public init?(name: String) {
        let n = name.lowercased()
        let aliases: [String: PolicyKind] = ["s3fifo": .s3fifo, "wtinylfu": .wtinylfu, "tinylfu": .wtinylfu, "twoq": .twoQ]
        guard let kind = Self.allCases.first(where: { $0.description == n }) ?? aliases[n] else { return nil }
        self = kind
    }

    /// The first format version whose manifest may name the policy: older builds know only
    /// the first four (docs/format.md, "MANIFEST").
    var introducedInFormat: UInt32 { rawValue <= 4 ? 1 : 4 }
}
