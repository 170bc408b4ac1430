import Testing
@testable import LogCache

@Suite("On-disk format: checksums, records, index files, manifest")
struct FormatTests {
    @Test("CRC-32C matches the standard check value and can be computed in pieces")
    func crc32c() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        var g = SeededGenerator(seed: 1)
        let data = g.bytes(1000)
        let whole = CRC32C.checksum(data)
        let pieces = data.withUnsafeBytes { b in
            CRC32C.update(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<333])),
                          UnsafeRawBufferPointer(rebasing: b[333...]))
        }
        #expect(whole == pieces)
    }

    @Test("The processor's CRC-32C instruction and the tables agree at every length and alignment, across the lanes' joins")
    func crc32cHardwareMatchesSoftware() {
        var g = SeededGenerator(seed: 7)
        let data = g.bytes(120_000)
        #expect(CRC32C.softwareUpdate(0, UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        data.withUnsafeBytes { b in
            #expect(CRC32C.softwareUpdate(0, UnsafeRawBufferPointer(rebasing: b[0..<9])) == CRC32C.checksum(Array(data[0..<9])))
            for start in 0..<9 {
                // Around the three 512-byte and three 8 KiB lanes, and many of each.
                for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 1535, 1536, 1537, 1543, 3072, 4096,
                               24_575, 24_576, 24_577, 24_576 + 1536 + 5, 3 * 24_576 + 2 * 1536 + 99, 119_990] {
                    let slice = UnsafeRawBufferPointer(rebasing: b[start..<(start + length)])
                    let seed = UInt32(truncatingIfNeeded: start &* 0x9E37_79B9)
                    #expect(CRC32C.update(seed, slice) == CRC32C.softwareUpdate(seed, slice), "start \(start), length \(length)")
                }
            }
        }
        // On the machines this project builds on (x86-64 with SSE 4.2, ARMv8) the instruction
        // is there; a build that silently fell back would lose most of the gain.
        #if arch(x86_64) || arch(arm64)
        #expect(CRC32C.usesHardware)
        #endif
    }

    @Test("XXH64 matches the reference vectors for every tail length path")
    func keyHash() {
        #expect(KeyHash.hash([UInt8]()) == 0xEF46_DB37_51D8_E999)
        #expect(KeyHash.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(KeyHash.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(KeyHash.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        // Inputs of 32 bytes and more take the four-lane path.
        let long = Array("The quick brown fox jumps over the lazy dog".utf8)
        #expect(KeyHash.hash(long) == 0x0B24_2D36_1FDA_71BC)
    }

    private let salt = RecordSalt(0x5EED_0F_5A17)

    private func record(key: String, value: [UInt8], kind: RecordKind = .value, expiresAt: Int64 = 0,
                        salt: RecordSalt? = nil) -> [UInt8] {
        Array(key.utf8).withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                RecordCoding.encode(kind: kind, codec: .none, key: k, stored: v, rawLength: value.count,
                                    createdAt: 1234, expiresAt: expiresAt, salt: salt ?? self.salt)
            }
        }
    }

    @Test("A record decodes to the header, key and value it was encoded with")
    func recordRoundTrip() throws {
        let bytes = record(key: "alpha", value: [1, 2, 3], expiresAt: 99)
        #expect(bytes.count == RecordHeader.size + 5 + 3)
        try bytes.withUnsafeBytes { b in
            let h = try RecordCoding.decode(b, salt: salt).get()
            #expect(h == RecordHeader(kind: .value, codec: .none, keyLength: 5, storedLength: 3, rawLength: 3,
                                      createdAt: 1234, expiresAt: 99))
            #expect(Array(RecordCoding.key(of: h, in: b)) == Array("alpha".utf8))
            #expect(Array(RecordCoding.storedValue(of: h, in: b)) == [1, 2, 3])
        }
    }

    @Test("Every single-bit flip in a record is detected")
    func recordBitFlips() {
        let good = record(key: "k", value: Array("some value bytes".utf8))
        for bit in 0..<(good.count * 8) {
            var bad = good
            bad[bit / 8] ^= UInt8(1 << (bit % 8))
            let result = bad.withUnsafeBytes { RecordCoding.decode($0, salt: salt) }
            if case .success = result { Issue.record("flip of bit \(bit) went unnoticed") }
        }
    }

    @Test("Header fields no writer produces are refused before any length is trusted")
    func hostileHeaders() {
        func header(_ edit: (inout [UInt8]) -> Void) -> RecordDefect? {
            var b = record(key: "k", value: [7])
            edit(&b)
            if case .failure(let d) = b.withUnsafeBytes({ RecordCoding.decodeHeader($0) }) { return d }
            return nil
        }
        #expect(header { $0[4] = 9 } == .invalidField("kind 9"))
        #expect(header { $0[5] = 7 } == .invalidField("codec 7"))
        #expect(header { $0[6] = 0; $0[7] = 0 } == .invalidField("key length 0"))
        // A raw length of 4 GiB - 1: far above the value limit.
        #expect(header { for i in 12..<16 { $0[i] = 0xFF } } != nil)
        #expect(header { $0.removeLast($0.count - 10) } == .truncated)
        #expect(header { _ in } == nil)
    }

    @Test("A scan keeps good records, skips damage in the middle and finds a torn tail")
    func segmentScan() {
        let a = record(key: "a", value: Array(repeating: 1, count: 40))
        let b = record(key: "b", value: Array(repeating: 2, count: 40))
        let c = record(key: "c", value: Array(repeating: 3, count: 40))
        var damagedB = b
        damagedB[RecordHeader.size + 10] ^= 0x10
        let bytes = a + damagedB + c + Array(c.prefix(20))
        var keys: [String] = []
        let outcome = bytes.withUnsafeBytes { buf in
            SegmentScan.scan(buf, from: 0, salt: salt) { _, h, r in
                keys.append(String(decoding: RecordCoding.key(of: h, in: r), as: UTF8.self))
            }
        }
        #expect(keys == ["a", "c"])
        #expect(outcome.damaged == [SegmentScan.DamagedRange(offset: a.count, length: b.count)])
        #expect(outcome.validEnd == a.count + b.count + c.count)
        #expect(outcome.tornBytes == 20)
        #expect(outcome.records == 2)
    }

    @Test("Index files round-trip and refuse damage, wrong lengths and impossible entries")
    func indexFile() throws {
        let file = IndexFile(segmentID: 7, coveredLength: 1000, entries: [
            IndexFileEntry(keyHash: 1, offset: 24, length: 40, expiresAt: 0, kind: .value),
            IndexFileEntry(keyHash: 2, offset: 64, length: 33, expiresAt: 5, kind: .tombstone),
        ])
        let bytes = file.encoded()
        #expect(bytes.count == IndexFile.headerSize + 2 * IndexFileEntry.size + 4)
        #expect(try bytes.withUnsafeBytes { try IndexFile.decode($0).get() } == file)
        for i in 0..<bytes.count {
            var bad = bytes
            bad[i] ^= 0x40
            if case .success = bad.withUnsafeBytes({ IndexFile.decode($0) }) { Issue.record("flip at \(i) unnoticed") }
        }
        let short = Array(bytes.dropLast(3))
        #expect(throws: IndexFile.Defect.self) { try short.withUnsafeBytes { try IndexFile.decode($0).get() } }
        // An entry that reaches past the covered length is refused even with a good checksum.
        let beyond = IndexFile(segmentID: 7, coveredLength: 50, entries: file.entries).encoded()
        #expect(beyond.withUnsafeBytes { IndexFile.decode($0) } == .failure(.invalidEntry(0)))
    }

    private let settings = StoreSettings(
        compression: .zstd(level: 5), compressionThreshold: 64, segmentSize: 1 << 20,
        defaultTTLMilliseconds: 60_000, capacityBytes: 1 << 30, capacityEntries: nil, policy: .lfu)

    @Test("The manifest round-trips its settings and segment list")
    func manifestRoundTrip() throws {
        let m = Manifest(generation: 9, nextSegmentID: 12, settings: settings, segments: [3, 8, 11], salt: salt)
        let bytes = m.encoded()
        #expect(try bytes.withUnsafeBytes { try Manifest.decode($0).get() } == m)
    }

    @Test("A manifest of another format version is refused by its version, a damaged one by its checksum")
    func manifestVersionAndDamage() {
        let m = Manifest(generation: 1, nextSegmentID: 2, settings: settings, segments: [1], salt: salt)
        var bytes = m.encoded()
        var future = bytes
        future[8] = UInt8(FormatVersion.current + 1)
        #expect(future.withUnsafeBytes { Manifest.decode($0) } == .failure(.unsupportedVersion(FormatVersion.current + 1)))
        bytes[30] ^= 1
        #expect(bytes.withUnsafeBytes { Manifest.decode($0) } == .failure(.checksumMismatch))
        #expect(Array("not a manifest".utf8).withUnsafeBytes { Manifest.decode($0) } == .failure(.notAManifest))
    }

    @Test("Segment headers carry the segment number and format version")
    func segmentHeader() {
        let h = SegmentHeader(segmentID: 42, salt: salt)
        let bytes = h.encoded()
        #expect(bytes.count == SegmentHeader.size)
        #expect(bytes.withUnsafeBytes { SegmentHeader.decode($0) } == h)
        var bad = bytes
        bad[9] ^= 1
        #expect(bad.withUnsafeBytes { SegmentHeader.decode($0) } == nil)
    }

    /// `bytes` with its trailing CRC-32C set right for what comes before it.
    private func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<(b.count - 4)])) }
        b.replaceSubrange((b.count - 4)..., with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        return b
    }

    @Test("POLICY files round-trip with ghosts and words, and refuse hostile counts, trailing bytes and policies their version lacks")
    func policySnapshots() {
        let snapshot = PolicySnapshot(
            policy: .arc, entries: [(1, 0), (2, 1), (3, 1)],
            extras: PolicyExtras(ghosts: [(10, 100, 1), (11, 7, 2)], words: [Double(55.5).bitPattern]))
        let bytes = snapshot.encoded()
        #expect(bytes.count == 16 + 3 * 12 + 4 + 2 * 16 + 4 + 8 + 4)
        #expect(bytes.withUnsafeBytes { PolicySnapshot.decode($0) } == snapshot)
        // Every byte flipped is caught (by the checksum, or the fields it guards).
        for i in bytes.indices {
            var bad = bytes
            bad[i] ^= 0x10
            #expect(bad.withUnsafeBytes { PolicySnapshot.decode($0) } == nil, "byte \(i)")
        }
        // Counts larger than the file, checksum right: refused before anything is allocated.
        let ghostCountAt = 16 + 3 * 12
        for (offset, count) in [(12, UInt32.max), (ghostCountAt, UInt32.max), (ghostCountAt, 3),
                                (ghostCountAt + 4 + 2 * 16, UInt32.max), (ghostCountAt + 4 + 2 * 16, 2)] {
            var hostile = bytes
            hostile.replaceSubrange(offset..<(offset + 4), with: withUnsafeBytes(of: count.littleEndian) { Array($0) })
            #expect(resealed(hostile).withUnsafeBytes { PolicySnapshot.decode($0) } == nil, "count \(count) at \(offset)")
        }
        var longer = bytes
        longer.insert(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0], at: bytes.count - 4)
        #expect(resealed(longer).withUnsafeBytes { PolicySnapshot.decode($0) } == nil, "bytes after the words")
        // A version-3 file: entries and checksum only. It decodes for LRU, not for a policy
        // version 3 did not have.
        var three = Array(bytes[0..<(16 + 3 * 12)]) + [0, 0, 0, 0]
        three.replaceSubrange(4..<8, with: [3, 0, 0, 0])
        three[8] = PolicyKind.lru.rawValue
        let decoded = resealed(three).withUnsafeBytes { PolicySnapshot.decode($0) }
        #expect(decoded?.policy == .lru && decoded?.entries.count == 3 && decoded?.extras == PolicyExtras())
        three[8] = PolicyKind.sieve.rawValue
        #expect(resealed(three).withUnsafeBytes { PolicySnapshot.decode($0) } == nil)
        // An ARC target that is not a number from 0 to the capacity is not taken.
        var arc = ARCPolicy(capacity: 100)
        arc.restoreExtras(PolicyExtras(words: [Double.nan.bitPattern]))
        #expect(arc.target == 0)
        arc.restoreExtras(PolicyExtras(words: [Double(101).bitPattern]))
        #expect(arc.target == 0)
        arc.restoreExtras(PolicyExtras(words: [Double(40).bitPattern]))
        #expect(arc.target == 40)
    }
}
