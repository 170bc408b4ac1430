/// The eviction policy's order saved at close (the `POLICY` file), so a restart keeps LRU
/// recency and LFU counts (docs/format.md).
public struct PolicySnapshot: Sendable, Equatable {
    /// The file name inside the store directory.
    public static let fileName = "POLICY"
    static let magic: [UInt8] = Array("LCPS".utf8)
    static let headerSize = 16
    static let entrySize = 12

    /// The policy the order belongs to; a snapshot of another policy is ignored.
    public var policy: PolicyKind
    /// Key hashes from the first to be evicted to the last, each with the policy's one number
    /// of state (an LFU frequency; 0 otherwise).
    public var entries: [(keyHash: UInt64, value: UInt32)]

    public init(policy: PolicyKind, entries: [(keyHash: UInt64, value: UInt32)]) {
        self.policy = policy
        self.entries = entries
    }

    public static func == (a: PolicySnapshot, b: PolicySnapshot) -> Bool {
        a.policy == b.policy && a.entries.elementsEqual(b.entries, by: { $0.keyHash == $1.keyHash && $0.value == $1.value })
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerSize + entries.count * Self.entrySize + 4)
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
        w.appendChecksum()
        return w.bytes
    }

    /// Decodes a snapshot; nil when the bytes are not a whole, intact snapshot of this format.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> PolicySnapshot? {
        guard bytes.count >= headerSize + 4, bytes.prefix(4).elementsEqual(magic) else { return nil }
        var r = ByteReader(bytes, at: 4)
        // Version 2 left this file as it was: a version-1 snapshot still names the same key
        // hashes after a store is converted, so its order is kept.
        guard let version = r.u32(), (FormatVersion.oldestConvertible...FormatVersion.current).contains(version),
              let policyByte = r.u8(),
              let policy = PolicyKind(rawValue: policyByte), r.u8() != nil, r.u16() != nil, let count = r.u32(),
              bytes.count == headerSize + Int(count) * entrySize + 4
        else { return nil }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])) == stored else { return nil }
        var entries: [(keyHash: UInt64, value: UInt32)] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            guard let hash = r.u64(), let value = r.u32() else { return nil }
            entries.append((hash, value))
        }
        return PolicySnapshot(policy: policy, entries: entries)
    }
}
