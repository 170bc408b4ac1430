/// The settings a store is created with and keeps for its whole life.
public struct StoreSettings: Sendable, Equatable {
    /// How new values are compressed.
    public var compression: Compression
    /// Values shorter than this are stored uncompressed: compressing them rarely pays.
    public var compressionThreshold: Int
    /// The active segment is sealed and a new one started once it would pass this many bytes.
    public var segmentSize: Int
    /// Milliseconds a value lives when `set` is given no TTL; nil for no expiry.
    public var defaultTTLMilliseconds: Int64?
    /// Live bytes the store may hold; nil for no limit.
    public var capacityBytes: Int?
    /// Live entries the store may hold; nil for no limit.
    public var capacityEntries: Int?
    /// Which entries go when the capacity is reached.
    public var policy: PolicyKind

    /// Settings with the given values, as a manifest holds them.
    public init(
        compression: Compression, compressionThreshold: Int, segmentSize: Int,
        defaultTTLMilliseconds: Int64?, capacityBytes: Int?, capacityEntries: Int?, policy: PolicyKind
    ) {
        self.compression = compression
        self.compressionThreshold = compressionThreshold
        self.segmentSize = segmentSize
        self.defaultTTLMilliseconds = defaultTTLMilliseconds
        self.capacityBytes = capacityBytes
        self.capacityEntries = capacityEntries
        self.policy = policy
    }
}

/// The store's manifest: its format version, its settings and the segments that make it up
/// (docs/format.md). It is only ever replaced whole, by an atomic rename.
public struct Manifest: Sendable, Equatable {
    static let magic: [UInt8] = Array("LOGCACHE".utf8)
    static let fixedBodySize = 68
    /// The fixed body of a format-version-1 manifest, which had no salt.
    static let versionOneFixedBodySize = 60
    /// The file name inside the store directory.
    public static let fileName = "MANIFEST"
    /// Bytes of the largest manifest worth reading: far above any real one (a million
    /// segments take 4 MiB), far below what would hurt to allocate.
    public static let maxFileLength = 64 << 20

    /// Incremented by every rewrite, so a process can tell the segment set changed.
    public var generation: UInt64
    /// The number the next new segment gets.
    public var nextSegmentID: UInt32
    /// The settings the store was created with.
    public var settings: StoreSettings
    /// Live segments in log order, oldest first; the last one is the active segment.
    ///
    /// Log order is not number order: compaction writes the live records of a run of
    /// segments into new, higher-numbered segments that take the run's place in the list.
    public var segments: [UInt32]
    /// The secret every record checksum of the store starts from; `.versionOne` in a
    /// version-1 manifest.
    public var salt: RecordSalt
    /// The format version the manifest was read in: the current one, or an older one that
    /// opening converts. A manifest is always written in the current version.
    public var formatVersion: UInt32

    /// A manifest with the given fields.
    public init(
        generation: UInt64, nextSegmentID: UInt32, settings: StoreSettings, segments: [UInt32], salt: RecordSalt,
        formatVersion: UInt32 = FormatVersion.current
    ) {
        self.generation = generation
        self.nextSegmentID = nextSegmentID
        self.settings = settings
        self.segments = segments
        self.salt = salt
        self.formatVersion = formatVersion
    }

    /// Why bytes are not a usable manifest.
    public enum Defect: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file is too short or does not start with the manifest magic.
        case notAManifest
        /// The store is of a format version this build does not read.
        case unsupportedVersion(UInt32)
        /// The checksum over the manifest does not match.
        case checksumMismatch
        /// A field holds a value no writer produces; the text names it.
        case invalidField(String)

        /// What is wrong with the manifest, in one sentence.
        public var description: String {
            switch self {
            case .notAManifest: "not a LogCache manifest (bad magic or too short)"
            case .unsupportedVersion(let v):
                "store format version \(v) is not supported by this build (it reads version \(FormatVersion.current))"
            case .checksumMismatch: "manifest checksum mismatch"
            case .invalidField(let f): "invalid manifest field: \(f)"
            }
        }
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + Self.fixedBodySize + 4 * segments.count + 4)
        w.append(Self.magic)
        w.u32(FormatVersion.current)
        w.u32(UInt32(Self.fixedBodySize + 4 * segments.count))
        w.u64(generation)
        w.u32(nextSegmentID)
        w.u8(settings.compression.codec.rawValue)
        w.u8(settings.policy.rawValue)
        w.u16(0)
        if case .zstd(let level) = settings.compression { w.i32(Int32(clamping: level)) } else { w.i32(0) }
        w.u32(UInt32(clamping: settings.compressionThreshold))
        w.u64(UInt64(settings.segmentSize))
        w.i64(settings.defaultTTLMilliseconds ?? 0)
        w.u64(UInt64(settings.capacityBytes ?? 0))
        w.u64(UInt64(settings.capacityEntries ?? 0))
        w.u64(salt.value)
        w.u32(UInt32(segments.count))
        for s in segments { w.u32(s) }
        w.appendChecksum()
        return w.bytes
    }

    /// Decodes and checks a manifest file.
    ///
    /// The version is checked before anything else past the magic, so a store written by a
    /// later format is refused by name rather than misread. Manifests of versions 1 (with
    /// `formatVersion` 1 and no salt) and 2 (the current layout) decode too, for opening to
    /// convert the store.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Manifest, Defect> {
        guard bytes.count >= 16 + versionOneFixedBodySize + 4, bytes.prefix(8).elementsEqual(magic) else {
            return .failure(.notAManifest)
        }
        var r = ByteReader(bytes, at: 8)
        guard let version = r.u32(), let bodyLength = r.u32() else { return .failure(.notAManifest) }
        guard FormatVersion.inPlace.contains(version) || version == 1 else { return .failure(.unsupportedVersion(version)) }
        let fixedBodySize = version == 1 ? versionOneFixedBodySize : fixedBodySize
        guard Int(bodyLength) == bytes.count - 20 else { return .failure(.invalidField("body length \(bodyLength)")) }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])) == stored else {
            return .failure(.checksumMismatch)
        }
        guard let generation = r.u64(), let next = r.u32(), let codecByte = r.u8(), let policyByte = r.u8(),
              r.u16() != nil, let level = r.i32(), let threshold = r.u32(), let segmentSize = r.u64(),
              let ttl = r.i64(), let capBytes = r.u64(), let capEntries = r.u64()
        else { return .failure(.notAManifest) }
        var salt = RecordSalt.versionOne
        if version != 1 {
            guard let value = r.u64() else { return .failure(.notAManifest) }
            salt = RecordSalt(value)
        }
        guard let count = r.u32() else { return .failure(.notAManifest) }
        guard Int(bodyLength) == fixedBodySize + 4 * Int(count) else {
            return .failure(.invalidField("segment count \(count)"))
        }
        // Every rewrite adds one; no store rewrites its manifest 2^63 times, and a value that
        // high would overflow the next rewrite.
        guard generation < UInt64(1) << 63 else { return .failure(.invalidField("generation \(generation)")) }
        guard let codec = RecordCodec(rawValue: codecByte) else { return .failure(.invalidField("codec \(codecByte)")) }
        guard let policy = PolicyKind(rawValue: policyByte), policy.introducedInFormat <= version else {
            return .failure(.invalidField("policy \(policyByte) in a version-\(version) manifest"))
        }
        guard segmentSize >= UInt64(Limits.minSegmentSize), segmentSize <= UInt64(StoreSettings.maxSegmentSize) else {
            return .failure(.invalidField("segment size \(segmentSize)"))
        }
        guard ttl >= 0, capBytes <= UInt64(Int.max), capEntries <= UInt64(Int.max) else {
            return .failure(.invalidField("limits"))
        }
        // Writers refuse a default TTL longer than the latest expiry: no clock after 1970
        // could add it to its time and stay within the bound.
        guard ttl <= Limits.latestExpiry else { return .failure(.invalidField("default TTL \(ttl) ms")) }
        var segments: [UInt32] = []
        segments.reserveCapacity(Int(count))
        var seen = Set<UInt32>(minimumCapacity: Int(count))
        for _ in 0..<Int(count) {
            guard let s = r.u32() else { return .failure(.notAManifest) }
            guard s < next else { return .failure(.invalidField("segment \(s) is not below the next number \(next)")) }
            guard seen.insert(s).inserted else { return .failure(.invalidField("segment \(s) is listed twice")) }
            segments.append(s)
        }
        guard !segments.isEmpty else { return .failure(.invalidField("no segments")) }
        let compression: Compression = switch codec {
        case .none: .none
        case .lz4: .lz4
        case .zstd: .zstd(level: Int(level))
        }
        let settings = StoreSettings(
            compression: compression, compressionThreshold: Int(threshold), segmentSize: Int(segmentSize),
            defaultTTLMilliseconds: ttl == 0 ? nil : ttl,
            capacityBytes: capBytes == 0 ? nil : Int(capBytes),
            capacityEntries: capEntries == 0 ? nil : Int(capEntries), policy: policy)
        return .success(Manifest(generation: generation, nextSegmentID: next, settings: settings, segments: segments,
                                 salt: salt, formatVersion: version))
    }
}

extension StoreSettings {
    /// The largest segment size: record offsets in index files are 32 bits wide, and one
    /// record of the largest size may pass the limit before the segment is sealed.
    public static let maxSegmentSize = 1 << 30
}
