/// Where one live key's record is, in 24 bytes.
///
/// The key itself is not kept: its 64-bit hash stands for it, and the key stored in the
/// record is compared on every read.
struct IndexEntry: Sendable, Equatable {
    var keyHash: UInt64
    var segment: UInt32
    var offset: UInt32
    /// Bytes of the whole record.
    var length: UInt32
    /// Expiry in whole seconds since 1970, rounded up (0: never). Coarse on purpose: it lets a
    /// read skip I/O for an entry long expired; the record's own millisecond expiry decides.
    var expirySeconds: UInt32

    init(keyHash: UInt64, segment: UInt32, offset: UInt32, length: UInt32, expiresAt: Int64) {
        self.keyHash = keyHash
        self.segment = segment
        self.offset = offset
        self.length = length
        self.expirySeconds = Self.seconds(expiresAt)
    }

    /// Seconds since 1970 rounded up; 0 stays 0 (never). An expiry after 2106, past what 32
    /// bits of seconds hold, becomes `UInt32.max`, which stands for "not before 2106".
    static func seconds(_ milliseconds: Int64) -> UInt32 {
        guard milliseconds > 0 else { return 0 }
        // Divided before rounding up, so that no expiry near the end of Int64 overflows.
        let (whole, rest) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        return UInt32(clamping: rest > 0 ? whole + 1 : whole)
    }

    /// True when the entry has certainly expired at `now` (milliseconds).
    func certainlyExpired(at now: Int64) -> Bool {
        // `UInt32.max` only says the expiry is after 2106: the record's own expiry decides.
        expirySeconds != 0 && expirySeconds != .max && Int64(expirySeconds) * 1000 <= now
    }

    /// An expiry in milliseconds no earlier than the record's (0 for never): what expiring
    /// entries early by the index alone may go by. An expiry after 2106 stands for the latest
    /// a store keeps, so it is never expired before its time.
    var expiryNotBefore: Int64 {
        expirySeconds == .max ? Limits.latestExpiry : Int64(expirySeconds) * 1000
    }
}
