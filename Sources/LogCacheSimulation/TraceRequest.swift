/// One request of an access trace, in the form every reader produces.
public struct TraceRequest: Sendable, Equatable {
    /// The trace clock (seconds for the formats that have one; the request's index otherwise).
    public var time: Int64
    /// The object's identity (hashed when the trace names objects with strings).
    public var id: UInt64
    /// The object's size in bytes (1 for formats without sizes).
    public var size: Int
    /// The 1-based index of the next request for the same object, -1 when there is none or the
    /// format does not say (only oracleGeneral traces carry it).
    public var nextAccess: Int64

    /// A request.
    public init(time: Int64, id: UInt64, size: Int, nextAccess: Int64 = -1) {
        self.time = time
        self.id = id
        self.size = size
        self.nextAccess = nextAccess
    }
}

/// Why a trace cannot be read: a mistake in how it was asked for (exit 2), or a problem with
/// the file itself (exit 3).
public struct TraceError: Error, CustomStringConvertible, Sendable {
    /// Whether the caller asked for something impossible (true) or the input is bad (false).
    public let isUsage: Bool
    /// What is wrong, naming the file and place where known.
    public let message: String

    /// A problem with the input.
    public init(_ message: String) {
        self.message = message
        isUsage = false
    }

    /// A problem with the request itself (unknown format, bad synthetic specification).
    public static func usage(_ message: String) -> TraceError { TraceError(message, usage: true) }

    private init(_ message: String, usage: Bool) {
        self.message = message
        isUsage = usage
    }

    public var description: String { message }
}

/// A source of trace requests, read one at a time so that traces of any length stream through.
public protocol TraceReader {
    /// The next request, nil at the end of the trace.
    mutating func next() throws(TraceError) -> TraceRequest?

    /// How many requests the trace holds, when that is known without reading it.
    var knownRequestCount: Int? { get }

    /// How much of the input has been consumed, from 0 to 1 (for progress display).
    var fractionRead: Double { get }

    /// Whether requests carry ``TraceRequest/nextAccess``.
    var hasNextAccess: Bool { get }

    /// Fills `buffer` from its start with the next requests and returns how many it wrote:
    /// fewer than it holds only at the end of the trace. A reader that can decode many records
    /// at once does so here (one call per block instead of one per request).
    mutating func nextBlock(into buffer: UnsafeMutableBufferPointer<TraceRequest>) throws(TraceError) -> Int
}

extension TraceReader {
    /// One ``next()`` per request.
    public mutating func nextBlock(into buffer: UnsafeMutableBufferPointer<TraceRequest>) throws(TraceError) -> Int {
        var n = 0
        while n < buffer.count, let r = try next() {
            buffer[n] = r
            n += 1
        }
        return n
    }
}

/// A 64-bit FNV-1a hash, for object names that are not numbers.
@inline(__always)
public func hashObjectName(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01B3
    }
    return h
}
