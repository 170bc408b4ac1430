/// The eviction policy's state saved at close (the `POLICY` file), so a restart keeps LRU
/// recency, LFU counts, the ghosts of ARC, S3-FIFO and 2Q, and W-TinyLFU's sketch
/// (docs/format.md, "POLICY").
public struct PolicySnapshot: Sendable, Equatable {
    /// The file name inside the store directory.
    public static let fileName = "POLICY"
    static let magic: [UInt8] = Array("LCPS".utf8)
    static let headerSize = 16
    static let entrySize = 12
    static let ghostSize = 16

    /// The policy the state belongs to; a snapshot of another policy is ignored.
    public var policy: PolicyKind
    /// Key hashes from the first to be evicted to the last, each with the policy's one number
    /// of state (an LFU frequency, a reference bit, a queue; 0 where the order says everything).
    public var entries: [(keyHash: UInt64, value: UInt32)]
    /// Ghosts and further state; empty in files of format versions 1 to 3.
    public var extras: PolicyExtras

    /// A snapshot of `policy` with `entries` in eviction order and `extras`.
    public init(policy: PolicyKind, entries: [(keyHash: UInt64, value: UInt32)], extras: PolicyExtras = PolicyExtras()) {
        self.policy = policy
        self.entries = entries
        self.extras = extras
    }

    /// Whether two snapshots hold the same policy, entries in the same order, and extras.
    public static func == (a: PolicySnapshot, b: PolicySnapshot) -> Bool {
        a.policy == b.policy && a.entries.elementsEqual(b.entries, by: { $0.keyHash == $1.keyHash && $0.value == $1.value })
            && a.extras == b.extras
    }

    /// The encoded file, in the current format version.
    public func encoded() -> [UInt8] {
        let size = Self.headerSize + entries.count * Self.entrySize + 4 + extras.ghosts.count * Self.ghostSize
            + 4 + extras.words.count * 8 + 4
        var w = ByteWriter(capacity: size)
        w.append(Self.magic)
        w.u32(FormatVersion.current)
        w.u8(policy.rawValue)
        w.u8(0)
        w.u16(0)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u64(e.keyHash)
            w.u32(e.value)
        }
        w.u32(UInt32(extras.ghosts.count))
        for g in extras.ghosts {
            w.u64(g.key)
            // Sizes are record lengths, which the record format keeps below 2^32.
            w.u32(UInt32(clamping: g.size))
            w.u8(g.list)
            w.u8(0)
            w.u16(0)
        }
        w.u32(UInt32(extras.words.count))
        for word in extras.words { w.u64(word) }
        w.appendChecksum()
        return w.bytes
    }

    /// Decodes a snapshot; nil when the bytes are not a whole, intact snapshot of a format
    /// version this build reads, or name a policy that version did not have.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> PolicySnapshot? {
        guard bytes.count >= headerSize + 4, bytes.prefix(4).elementsEqual(magic) else { return nil }
        var r = ByteReader(bytes, at: 4)
        // Versions 2 and 3 left this file as it was: a version-1 snapshot still names the same
        // key hashes after a store is converted, so its order is kept. Version 4 added the
        // ghosts and words after the entries.
        guard let version = r.u32(), (FormatVersion.oldestConvertible...FormatVersion.current).contains(version),
              let policyByte = r.u8(), let policy = PolicyKind(rawValue: policyByte),
              policy.introducedInFormat <= version, r.u8() != nil, r.u16() != nil, let count = r.u32()
        else { return nil }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])) == stored else { return nil }
        // Every count is checked against the bytes left before anything is allocated for it.
        let end = bytes.count - 4
        guard Int(count) <= (end - headerSize) / entrySize else { return nil }
        var entries: [(keyHash: UInt64, value: UInt32)] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            guard let hash = r.u64(), let value = r.u32() else { return nil }
            entries.append((hash, value))
        }
        var extras = PolicyExtras()
        if version >= 4 {
            guard let ghostCount = r.u32(), Int(ghostCount) <= (end - r.position) / ghostSize else { return nil }
            extras.ghosts.reserveCapacity(Int(ghostCount))
            for _ in 0..<Int(ghostCount) {
                guard let key = r.u64(), let size = r.u32(), let list = r.u8(), r.u8() != nil, r.u16() != nil else { return nil }
                extras.ghosts.append((key, Int(size), list))
            }
            guard let wordCount = r.u32(), Int(wordCount) <= (end - r.position) / 8 else { return nil }
            extras.words.reserveCapacity(Int(wordCount))
            for _ in 0..<Int(wordCount) {
                guard let word = r.u64() else { return nil }
                extras.words.append(word)
            }
        }
        guard r.position == end else { return nil }
        return PolicySnapshot(policy: policy, entries: entries, extras: extras)
    }
}
