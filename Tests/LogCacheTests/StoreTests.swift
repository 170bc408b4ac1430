import Foundation
import Testing
@testable import LogCache

@Suite("Store: set, get, remove, TTL, reopen")
struct StoreTests {
    static let codecs: [Compression] = [.none, .lz4, .zstd(level: 1), .zstd(level: 3), .zstd(level: 19)]

    @Test("Random keys and values of many sizes round-trip under every codec, before and after reopen",
          arguments: codecs)
    func roundTrip(compression: Compression) throws {
        let dir = TemporaryDirectory("roundTrip\(compression.codec)")
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 42)
        let sizes = [0, 1, 2, 63, 64, 65, 100, 1000, 4096, 65_536, 300_000]
        var expected: [[UInt8]: [UInt8]] = [:]
        let options = Options(compression: compression, segmentSize: 128 << 10)
        do {
            let store = try CacheStore(directory: dir.path, options: options)
            for (i, size) in (sizes + sizes.map { $0 / 2 + 7 }).enumerated() {
                let key = g.bytes(Int(g.next() % 40) + 1)
                let value = g.bytes(size, compressible: i % 2 == 0)
                try store.set(value, forKey: key)
                expected[key] = value
            }
            for (k, v) in expected { #expect(try store.value(forKey: k) == v) }
            #expect(store.statistics.entries == expected.count)
            #expect(store.statistics.segments > 1, "values larger than a segment force rollovers")
            try store.close()
        }
        let reopened = try CacheStore(directory: dir.path, options: options)
        for (k, v) in expected { #expect(try reopened.value(forKey: k) == v) }
        #expect(reopened.statistics.entries == expected.count)
        try reopened.close()
    }

    @Test("Compressible values are stored compressed; incompressible and tiny ones raw")
    func compressionDecision() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .zstd))
        let text = [UInt8](repeating: 65, count: 10_000)
        try store.set(text, forKey: "text")
        let afterText = store.statistics.liveBytes
        #expect(afterText < 200, "10,000 equal bytes compress to a few dozen")
        var g = SeededGenerator(seed: 3)
        let noise = g.bytes(10_000)
        try store.set(noise, forKey: "noise")
        #expect(store.statistics.liveBytes - afterText == RecordHeader.size + 5 + noise.count)
        try store.set([1, 2, 3], forKey: "tiny")
        #expect(try store.value(forKey: "text") == text)
        #expect(try store.value(forKey: "noise") == noise)
        #expect(try store.value(forKey: "tiny") == [1, 2, 3])
        try store.close()
    }

    @Test("A store holding records of several codecs reads each by its own codec")
    func mixedCodecs() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let value = [UInt8](repeating: 7, count: 5000)
        // The codec is a store setting, so write records of other codecs the way an older
        // setting would have: directly, then check the store reads them all.
        let store = try CacheStore(directory: dir.path, options: Options(compression: .lz4))
        try store.set(value, forKey: "lz4")
        try store.close()
        try rewriteCompression(dir.path, to: .zstd(level: 3))
        let store2 = try CacheStore(directory: dir.path)
        try store2.set(value, forKey: "zstd")
        #expect(try store2.value(forKey: "lz4") == value)
        #expect(try store2.value(forKey: "zstd") == value)
        try store2.close()
    }

    /// Changes the kept compression setting in a closed store's manifest.
    private func rewriteCompression(_ path: String, to compression: Compression) throws {
        let dir = Directory(path: path)
        var m = try StoreOpening.readManifest(dir)
        m.settings.compression = compression
        try dir.writeAtomically(Manifest.fileName, m.encoded())
    }

    @Test("Overwrite replaces the value; remove deletes it and reports whether it was there")
    func overwriteAndRemove() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set(Array("one".utf8), forKey: "k")
        try store.set(Array("two".utf8), forKey: "k")
        #expect(try store.value(forKey: "k") == Array("two".utf8))
        #expect(store.statistics.entries == 1)
        #expect(try store.removeValue(forKey: "k"))
        #expect(try store.value(forKey: "k") == nil)
        #expect(try !store.removeValue(forKey: "k"))
        #expect(store.statistics.entries == 0 && store.statistics.liveBytes == 0)
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.value(forKey: "k") == nil, "the tombstone hides the older values after reopen")
        try reopened.close()
    }

    @Test("Values expire by the injected clock, by TTL and by the default TTL, also across reopen")
    func ttl() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock()
        let options = Options(defaultTTL: .seconds(100), clock: clock)
        let store = try CacheStore(directory: dir.path, options: options)
        try store.set([1], forKey: "short", ttl: .milliseconds(1500))
        try store.set([2], forKey: "default")
        clock.advance(by: .milliseconds(1499))
        #expect(try store.value(forKey: "short") == [1])
        clock.advance(by: .milliseconds(1))
        #expect(try store.value(forKey: "short") == nil)
        #expect(store.statistics.expirations == 1)
        #expect(try store.value(forKey: "default") == [2])
        try store.close()
        clock.advance(by: .seconds(99))
        let reopened = try CacheStore(directory: dir.path, options: options)
        #expect(reopened.statistics.entries == 0, "expired records are not loaded at open")
        #expect(try reopened.value(forKey: "default") == nil)
        #expect(throws: CacheError.invalidOption("TTL must be positive")) {
            try reopened.set([1], forKey: "x", ttl: .zero)
        }
        try reopened.close()
    }

    @Test("Settings are kept by the store: a later open with other options uses the kept ones")
    func keptSettings() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let first = try CacheStore(directory: dir.path, options: Options(compression: .lz4, segmentSize: 8192))
        try first.close()
        let second = try CacheStore(directory: dir.path, options: Options(compression: .none))
        #expect(second.settings.compression == .lz4)
        #expect(second.settings.segmentSize == 8192)
        try second.close()
    }

    @Test("Statistics count hits, misses, writes and deletes")
    func statistics() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set([1], forKey: "a")
        try store.set([2], forKey: "b")
        _ = try store.value(forKey: "a")
        _ = try store.value(forKey: "zzz")
        try store.removeValue(forKey: "b")
        let s = store.statistics
        #expect((s.hits, s.misses, s.writes, s.deletes, s.entries) == (1, 1, 2, 1, 1))
        #expect(s.diskBytes >= s.liveBytes && s.segments == 1)
        try store.close()
    }

    @Test("Batch set and batch get agree with single operations")
    func batches() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 16 << 10))
        var g = SeededGenerator(seed: 9)
        var entries: [String: [UInt8]] = [:]
        for i in 0..<500 { entries["key\(i)"] = g.bytes(Int(g.next() % 300), compressible: i % 3 == 0) }
        try store.setValues(entries)
        let keys = entries.keys.sorted() + ["absent"]
        let values = try store.values(forKeys: keys)
        for (k, v) in zip(keys, values) { #expect(v == entries[k]) }
        #expect(store.statistics.segments > 1)

        var seen = [Int](repeating: 0, count: keys.count)
        let found = try store.forEachValue(forKeys: keys) { i, value in
            seen[i] += 1
            #expect(Array(value) == entries[keys[i]])
        }
        #expect(found == entries.count)
        #expect(seen == keys.map { entries[$0] == nil ? 0 : 1 })
        try store.close()
    }

    @Test("Values of a megabyte and more, and of the size zstd's worker threads compress, read back whole")
    func largeValuesCompressedInParallel() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 13)
        let values: [[UInt8]] = [
            g.bytes(ValueCodec.largeValueMinimum, compressible: true),
            g.bytes(5 * ValueCodec.largeValueMinimum / 2 + 7, compressible: true),
            g.bytes(ValueCodec.largeValueMinimum + 1),   // random: stored raw
            g.bytes(ValueCodec.parallelValueMinimum + 3, compressible: true),
        ]
        var store = try CacheStore(directory: dir.path, options: Options(compression: .zstd(level: 3)))
        for (i, v) in values.enumerated() { try store.set(v, forKey: "big\(i)") }
        #expect(store.statistics.diskBytes < values.reduce(0) { $0 + $1.count } - values[0].count / 2)
        try store.close()
        store = try CacheStore(directory: dir.path)
        for (i, v) in values.enumerated() { #expect(try store.value(forKey: "big\(i)") == v) }
        try store.close()
    }

    @Test("Values of a megabyte and more are compressed at the level for large values; smaller ones at the store's")
    func largeValueLevel() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 14)
        let big = g.bytes(ValueCodec.largeValueMinimum + 4096, compressible: true)
        let small = g.bytes(ValueCodec.largeValueMinimum - 1, compressible: true)
        func recordLengths(_ name: String, _ options: Options) throws -> (big: Int, small: Int) {
            let store = try CacheStore(directory: dir.file(name), options: options)
            defer { try? store.close() }
            try store.set(big, forKey: "big")
            try store.set(small, forKey: "small")
            #expect(try store.value(forKey: "big") == big)
            #expect(try store.value(forKey: "small") == small)
            var lengths: [Int] = []
            for key in ["big", "small"] {
                let (entry, _) = try #require(try store.index.located(KeyHash.hash(Array(key.utf8))))
                lengths.append(Int(entry.length))
            }
            return (lengths[0], lengths[1])
        }
        let fast = try recordLengths("fast", Options(compression: .zstd(level: 19), zstdLevelForLargeValues: -5))
        let same = try recordLengths("same", Options(compression: .zstd(level: 19), zstdLevelForLargeValues: nil))
        #expect(fast.big > same.big, "the large value was not compressed at the faster level")
        #expect(fast.small == same.small, "a value below a megabyte changed level")
        #expect(throws: CacheError.invalidOption("zstd level for large values 23 is outside -7...22")) {
            _ = try CacheStore(directory: dir.file("bad"), options: Options(zstdLevelForLargeValues: 23))
        }
    }

    /// The kind of the literals section of the first block of a zstd frame: 0 raw, 1 RLE,
    /// 2 Huffman-coded, 3 Huffman-coded with the previous table; nil when the block is not
    /// a compressed one (RFC 8878, sections 3.1.1 and 3.1.1.3.1).
    static func literalsKind(ofFrame f: [UInt8]) -> Int? {
        guard f.count > 6, f[0..<4] == [0x28, 0xB5, 0x2F, 0xFD] else { return nil }
        let descriptor = Int(f[4])
        let single = (descriptor >> 5) & 1 == 1
        var at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]
        at += [single ? 1 : 0, 2, 4, 8][descriptor >> 6]
        guard f.count > at + 3 else { return nil }
        let blockType = (Int(f[at]) >> 1) & 3
        return blockType == 2 ? Int(f[at + 3]) & 3 : nil
    }

    @Test("Small zstd values skip literal compression while it saves under 1/32 of their bytes, at level 2 for level 3, and use it again once it pays")
    func literalCompressionFollowsTheValues() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        var g = SeededGenerator(seed: 15)
        let phrase = Array("\"status\": \"ok\", \"user_id\": 1042, \"region\": \"eu-west\", ".utf8)
        // 32 bytes of text, then 32 random ones: the literals are the random bytes.
        func halfRandom() -> [UInt8] {
            (0..<1024).map { j in (j / 32) % 2 == 0 ? phrase[(j + 7) % phrase.count] : UInt8(truncatingIfNeeded: g.next()) }
        }
        // Words of lowercase letters in JSON: literals that Huffman codes take far fewer bits.
        func json() -> [UInt8] {
            var text = "{"
            while text.utf8.count < 1000 {
                let word = String((0..<(3 + Int(g.next() % 6))).map { _ in Character(UnicodeScalar(UInt8(97 + g.next() % 26))) })
                text += "\"\(word)\": \(g.next() % 10_000), "
            }
            return Array(text.utf8.prefix(1000)) + Array("}".utf8)
        }
        let store = try CacheStore(directory: dir.path)
        defer { try? store.close() }
        let salt = try #require(store.log.manifest.salt as RecordSalt?)
        /// For keys `prefix0…`, the kinds of literals written and the bytes stored, with what
        /// zstd's default for the level gives.
        func written(_ prefix: String, _ values: [[UInt8]], level: Int = 3) throws -> (kinds: [Int?], stored: [Int], reference: [Int]) {
            var kinds: [Int?] = []
            var stored: [Int] = []
            var reference: [Int] = []
            for (i, v) in values.enumerated() {
                let key = Array("\(prefix)\(i)".utf8)
                try store.set(v, forKey: key)
                #expect(try store.value(forKey: key) == v)
                let (entry, segment) = try #require(try store.index.located(KeyHash.hash(key)))
                let record = try segment.withRecord(offset: entry.offset, length: entry.length) { [UInt8]($0) }
                let frame = Array(record[(RecordHeader.size + key.count)...])
                kinds.append(Self.literalsKind(ofFrame: frame))
                stored.append(frame.count)
                let plain = key.withUnsafeBytes { k in
                    v.withUnsafeBytes { b in
                        ValueCodec.encodeRecord(key: k, value: b, compression: .zstd(level: level), threshold: 64, createdAt: 1,
                                                expiresAt: 0, salt: salt)
                    }
                }
                reference.append(plain.count - RecordHeader.size - key.count)
            }
            return (kinds, stored, reference)
        }
        // Half-random values: after the first samples, literals go raw, and the values are
        // compressed at level 2, whose frames are within 1% of level 3's.
        let randomValues = (0..<400).map { _ in halfRandom() }
        let random = try written("r", randomValues)
        #expect(random.kinds[100...].filter { $0 == 0 }.count >= 270, "\(random.kinds[100...])")
        let (randomStored, levelThree) = (random.stored[100...].reduce(0, +), random.reference[100...].reduce(0, +))
        #expect(randomStored * 100 <= levelThree * 101, "raw literals took more room: \(randomStored) > \(levelThree) + 1%")
        // Level 2 writes these literals raw too: once sampling is over, every value not
        // sampled is exactly level 2's frame.
        let levelTwo = try written("r2-", randomValues, level: 2).reference
        let unsampled = (100..<400).filter { $0 % LiteralSampler.period != 0 && random.kinds[$0] == 0 }
        #expect(unsampled.count >= 250)
        #expect(unsampled.allSatisfy { random.stored[$0] == levelTwo[$0] }, "frames differ from level 2's")
        // zstd writes such literals raw either way, after building a table it drops: the
        // time saved is that table, which the handle now skips.
        #expect(!store.encoder.literals.compressesLiterals)
        // JSON after them: literal compression comes back, and the sizes are zstd's own.
        let text = try written("j", (0..<3000).map { _ in json() })
        // Where the values stopped being sampled one by one: ten compressed literals in a row.
        let coded = text.kinds.map { $0 == 2 || $0 == 3 }
        let switched = try #require((0..<(coded.count - 10)).first { i in coded[i..<(i + 10)].allSatisfy { $0 } })
        #expect(switched < 1000, "literal compression came back only at value \(switched)")
        #expect(text.kinds[2000...].filter { $0 == 2 || $0 == 3 }.count >= 950, "\(text.kinds[2000...])")
        #expect(store.encoder.literals.compressesLiterals)
        let (textStored, textReference) = (text.stored[2000...].reduce(0, +), text.reference[2000...].reduce(0, +))
        #expect(Double(textStored) <= Double(textReference) * 1.001, "\(textStored) against \(textReference)")
        print("literal compression back at JSON value \(switched); JSON \(textStored) / \(textReference), half random \(randomStored) / \(levelThree) at level 3")
        // Large values, compressed on zstd's workers, are sampled apart: half-random ones
        // go raw without changing what the small JSON values showed.
        let large = (0..<(LiteralSampler.warmUp + 4)).map { _ in (0..<(ValueCodec.largeValueMinimum / 1024 + 1)).flatMap { _ in halfRandom() } }
        for (i, v) in large.enumerated() {
            try store.set(v, forKey: "large\(i)")
            #expect(try store.value(forKey: "large\(i)") == v)
        }
        #expect(!store.encoder.largeValueLiterals.compressesLiterals)
        #expect(store.encoder.literals.compressesLiterals)
        // Reopened, every value still reads back.
        try store.close()
        let reopened = try CacheStore(directory: dir.path)
        #expect(try reopened.value(forKey: "r5") != nil && reopened.value(forKey: "j2999") != nil)
        #expect(try reopened.value(forKey: "large0") == large[0])
        try reopened.close()
    }

    @Test("A batch encoded on several threads keeps its order and fails whole on a bad entry")
    func parallelBatchEncoding() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        var g = SeededGenerator(seed: 12)
        // Large enough to be split among threads; key 7 appears twice, and the later one wins.
        var batch = (0..<300).map { i in
            StoreEntry(key: Array("k\(i)".utf8), value: g.bytes(2_000, compressible: true), expiresAt: nil)
        }
        batch[250].key = Array("k7".utf8)
        try store.setValues(batch)
        #expect(try store.value(forKey: "k7") == batch[250].value)
        for i in [0, 63, 64, 299] { #expect(try store.value(forKey: "k\(i)") == batch[i].value) }

        // A key over the limit deep in the batch: the error names it and nothing is written.
        let before = store.statistics.writes
        var bad = (0..<300).map { i in StoreEntry(key: Array("b\(i)".utf8), value: g.bytes(500), expiresAt: nil) }
        bad[200].key = [UInt8](repeating: 0x61, count: Limits.maxKeyLength + 1)
        #expect(throws: CacheError.invalidKey(length: Limits.maxKeyLength + 1)) { try store.setValues(bad) }
        #expect(try store.value(forKey: "b0") == nil)
        #expect(store.statistics.writes == before)
        try store.close()
    }

    @Test("Data values and Codable values round-trip")
    func conveniences() throws {
        struct Answer: Codable, Equatable { var text: String; var tokens: Int }
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set(Data([9, 8, 7]), forKey: "data")
        #expect(try store.data(forKey: "data") == Data([9, 8, 7]))
        try store.set(encoding: Answer(text: "hi", tokens: 3), forKey: "answer")
        #expect(try store.value(Answer.self, forKey: "answer") == Answer(text: "hi", tokens: 3))
        #expect(try store.value(Answer.self, forKey: "missing") == nil)
        #expect(throws: CacheError.self) { try store.value(Int.self, forKey: "answer") }
        try store.close()
    }
}
