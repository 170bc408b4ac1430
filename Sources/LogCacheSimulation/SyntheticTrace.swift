import LogCache

/// A generated trace, described as `KIND:key=value,...`:
///
/// - `zipf:alpha=0.99,objects=1000000,requests=10000000,seed=1` — object k (0-based rank) with
///   probability ∝ 1/(k+1)^alpha.
/// - `uniform:objects=N,requests=R,seed=S` — every object equally likely.
/// - `loop:objects=N,requests=R` — objects 0, 1, …, N-1, 0, 1, … (LRU's worst case when N exceeds the cache).
/// - `scan:requests=R` — objects 0, 1, 2, … each requested once (every request a compulsory miss).
///
/// Every kind takes `size=B` (all objects B bytes) or `size=MIN-MAX` (each object a fixed size
/// drawn from that range by its id and the seed); the default is 1. Numbers may end in k, M or G
/// (powers of ten). Defaults: alpha 1, objects 1M, requests 10M, seed 1. A request's time is its index.
public struct SyntheticTraceSpec: Sendable, Equatable {
    /// The access pattern.
    public enum Kind: String, Sendable, CaseIterable { case zipf, uniform, loop, scan }
    /// The access pattern.
    public var kind: Kind
    /// The Zipf exponent.
    public var alpha: Double = 1
    /// Distinct objects (ignored by `scan`).
    public var objects = 1_000_000
    /// Requests generated.
    public var requests = 10_000_000
    /// The random seed.
    public var seed: UInt64 = 1
    /// The smallest object size.
    public var minSize = 1
    /// The largest object size.
    public var maxSize = 1

    /// Whether `text` is meant as a synthetic trace (starts with a known kind and a colon).
    public static func looksSynthetic(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        return Kind(rawValue: String(text[..<colon]).lowercased()) != nil
    }

    /// Parses a specification; throws a usage error naming the bad part.
    public init(parsing text: String) throws(TraceError) {
        guard let colon = text.firstIndex(of: ":"), let kind = Kind(rawValue: String(text[..<colon]).lowercased()) else {
            throw TraceError.usage("unknown synthetic trace \"\(text)\": use zipf:, uniform:, loop: or scan:")
        }
        self.kind = kind
        let params = text[text.index(after: colon)...]
        for part in params.split(separator: ",") where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else {
                throw TraceError.usage("bad synthetic trace parameter \"\(part)\": expected key=value")
            }
            let key = kv[0].lowercased(), value = String(kv[1])
            switch key {
            case "alpha":
                guard let a = Double(value), a > 0, a.isFinite else {
                    throw TraceError.usage("alpha must be a positive number, not \"\(value)\"")
                }
                alpha = a
            case "objects": objects = try Self.count(value, key)
            case "requests": requests = try Self.count(value, key)
            case "seed":
                guard let s = UInt64(value) else { throw TraceError.usage("seed must be a non-negative integer, not \"\(value)\"") }
                seed = s
            case "size":
                let bounds = value.split(separator: "-", maxSplits: 1).map(String.init)
                guard let first = bounds.first else { throw TraceError.usage("size needs a value, e.g. size=4096 or size=512-65536") }
                let lo = try Self.count(first, key)
                let hi = bounds.count == 2 ? try Self.count(bounds[1], key) : lo
                guard lo <= hi else { throw TraceError.usage("size range \"\(value)\" runs backwards") }
                minSize = lo
                maxSize = hi
            default:
                throw TraceError.usage("unknown synthetic trace parameter \"\(key)\": use alpha, objects, requests, seed, size")
            }
        }
        if kind == .zipf && objects > Int(Int32.max) {
            throw TraceError.usage("zipf supports at most \(Int32.max) objects")
        }
    }

    private static func count(_ text: String, _ key: String) throws(TraceError) -> Int {
        var digits = Substring(text)
        var scale = 1
        switch digits.last {
        case "k", "K": scale = 1_000
        case "m", "M": scale = 1_000_000
        case "g", "G": scale = 1_000_000_000
        default: break
        }
        if scale > 1 { digits = digits.dropLast() }
        guard let n = Int(digits), n > 0, n <= Int.max / scale else {
            throw TraceError.usage("\(key) must be a positive integer (optionally with k, M or G), not \"\(text)\"")
        }
        return n * scale
    }
}

/// Generates the requests of a ``SyntheticTraceSpec`` on the fly.
public struct SyntheticTraceReader: TraceReader {
    private let spec: SyntheticTraceSpec
    private var rng: SeededGenerator
    private let zipf: ZipfSampler?
    private var index = 0

    /// A reader producing `spec`'s requests.
    public init(_ spec: SyntheticTraceSpec) {
        self.spec = spec
        rng = SeededGenerator(seed: spec.seed)
        zipf = spec.kind == .zipf ? ZipfSampler(objects: spec.objects, alpha: spec.alpha) : nil
    }

    @inline(__always)
    public mutating func next() throws(TraceError) -> TraceRequest? {
        guard index < spec.requests else { return nil }
        let id: UInt64
        switch spec.kind {
        case .zipf: id = UInt64(zipf.map { $0.next(&rng) - 1 } ?? 0)
        case .uniform: id = rng.next() % UInt64(spec.objects)
        case .loop: id = UInt64(index % spec.objects)
        case .scan: id = UInt64(index)
        }
        defer { index += 1 }
        return TraceRequest(time: Int64(index), id: id, size: size(of: id))
    }

    @inline(__always)
    private func size(of id: UInt64) -> Int {
        if spec.minSize == spec.maxSize { return spec.minSize }
        let z = mix64(id &+ spec.seed &* 0x9E37_79B9_7F4A_7C15)
        return spec.minSize + Int(z % UInt64(spec.maxSize - spec.minSize + 1))
    }

    public var knownRequestCount: Int? { spec.requests }
    public var fractionRead: Double { Double(index) / Double(spec.requests) }
    public var hasNextAccess: Bool { false }
}
