import LogCache

/// Spatial sampling of a trace, SHARDS's fixed-rate form (Waldspurger et al., FAST 2015): a
/// request is kept when a hash of its object's id falls below the rate, so every request for a
/// kept object is kept and every request for another is dropped. Replayed against a cache
/// scaled down by the same rate, the sample's miss ratio estimates the whole trace's at the
/// full size, for a fraction of the work.
///
/// The hash is the object id's own (SplitMix64's finaliser) modulo 2^24, so a rate is kept to
/// 1/16,777,216 and the same objects are chosen in every run.
///
/// The estimate is only as good as the sample is typical: when a few objects carry more than
/// the rate's share of the requests (a Zipf trace's head), whether they are in or out sways
/// the whole curve. ``expectedShareKept`` tells such a sample from a typical one.
public struct SampledTraceReader: TraceReader {
    private var base: any TraceReader
    private let threshold: UInt64
    /// Requests read from the trace, kept or not.
    public private(set) var requestsRead = 0
    /// Requests kept.
    public private(set) var requestsKept = 0
    /// The fraction of objects kept, 0 < rate ≤ 1.
    public let rate: Double
    static let modulus: UInt64 = 1 << 24

    /// Samples `base` at `rate` (0 < rate ≤ 1).
    public init(_ base: any TraceReader, rate: Double) {
        self.base = base
        self.rate = rate
        threshold = UInt64((rate * Double(Self.modulus)).rounded())
    }

    /// Whether requests for `id` are in the sample.
    public func keeps(_ id: UInt64) -> Bool {
        mix64(id &+ 0x9E37_79B9_7F4A_7C15) % Self.modulus < threshold
    }

    /// A cache of `capacity` units scaled to the sample: at least 1.
    public static func scaled(_ capacity: Int, rate: Double) -> Int {
        max(1, Int((Double(capacity) * rate).rounded()))
    }

    public mutating func next() throws(TraceError) -> TraceRequest? {
        while let r = try base.next() {
            requestsRead += 1
            if keeps(r.id) {
                requestsKept += 1
                return r
            }
        }
        return nil
    }

    /// The requests kept against those a typical sample of this rate would keep: near 1 for a
    /// sample whose curve can be trusted, far from it when a few hot objects fell in or out.
    public var expectedShareKept: Double {
        requestsRead == 0 ? 1 : Double(requestsKept) / (Double(requestsRead) * rate)
    }

    /// Unknown until the trace has been read: the sample's size depends on its objects.
    public var knownRequestCount: Int? { nil }
    public var fractionRead: Double { base.fractionRead }
    public var hasNextAccess: Bool { base.hasNextAccess }
}
