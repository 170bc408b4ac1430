import Foundation
import Testing
@testable import LogCache

/// Values kept with their type (format version 5): what a binding in another language
/// writes, read back with the type by the typed calls and as plain bytes by every other.
@Suite("Typed values: the type is kept with the value through reads, restarts, compaction and hot values")
struct ValueTypeTests {
    @Test("Each type reads back with its value; untyped reads see the same bytes")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let options = Options(segmentSize: 4096, hotValueCacheBytes: 1 << 20)
        var store = try CacheStore(directory: dir.path, options: options)
        var g = SeededGenerator(seed: 11)
        var expected: [[UInt8]: (ValueType, [UInt8])] = [:]
        for i in 0..<200 {
            let type = ValueType.allCases[i % ValueType.allCases.count]
            let key = Array("k\(i)".utf8), value = g.bytes(Int(g.next() % 900), compressible: i % 2 == 0)
            try store.set(value, forKey: key, type: type)
            expected[key] = (type, value)
        }
        // A key written again without a type is plain bytes from then on.
        try store.set([1, 2, 3], forKey: Array("k1".utf8))
        expected[Array("k1".utf8)] = (.bytes, [1, 2, 3])
        func check(_ store: CacheStore) throws {
            for (key, (type, value)) in expected {
                // Twice: the second read may come from the hot values, which must keep the type.
                for _ in 0..<2 {
                    let found = try store.typedValue(forKey: key)
                    #expect(found?.type == type && found?.value == value, "\(key)")
                }
                #expect(try store.value(forKey: key) == value)
            }
            let keys = Array(expected.keys)
            var seen = 0
            try store.forEachTypedValue(forKeys: keys + [Array("absent".utf8)]) { i, type, bytes in
                #expect(i < keys.count && expected[keys[i]]?.0 == type && expected[keys[i]]?.1 == Array(bytes))
                seen += 1
            }
            #expect(seen == keys.count)
            let listed = try store.entries()
            #expect(listed.count == expected.count)
            for e in listed { #expect(e.valueType == expected[e.key]?.0) }
        }
        try check(store)
        try store.close()
        store = try CacheStore(directory: dir.path, options: options)
        try check(store)
        _ = try store.compact()
        try check(store)
        try store.close()
        #expect(try StoreCheck.run(directory: dir.path, repair: false).ok)
    }

    @Test("A batch of typed values keeps each one's type, and the TTL applies to all")
    func batch() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let clock = ManualClock(milliseconds: 1_700_000_000_000)
        let store = try CacheStore(directory: dir.path, options: Options(clock: clock))
        let values: [(key: [UInt8], value: [UInt8], type: ValueType)] = (0..<300).map {
            (Array("b\($0)".utf8), Array(String(repeating: "x\($0)", count: 50).utf8), ValueType.allCases[$0 % 4])
        }
        try store.setValues(values, ttl: .seconds(10))
        for v in values { #expect(try store.typedValue(forKey: v.key)?.type == v.type) }
        clock.advance(by: .seconds(11))
        for v in values { #expect(try store.typedValue(forKey: v.key) == nil) }
        try store.close()
    }

    @Test("A record header naming an unknown value type, or a tombstone with a type, is damage")
    func unknownTypeIsDamage() throws {
        let key: [UInt8] = Array("key".utf8), value: [UInt8] = Array("value".utf8)
        var record = key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                RecordCoding.encode(kind: .value, codec: .none, key: k, stored: v, rawLength: v.count,
                                    createdAt: 1, expiresAt: 0, salt: RecordSalt(5))
            }
        }
        #expect(record.withUnsafeBytes { RecordCoding.valueRecord($0, salt: RecordSalt(5)) }?.valueType == .bytes)
        for byte: UInt8 in [0x20, 0x30, 0x40, 0xF0] {
            record[5] = byte
            RecordCoding.reseal(&record, salt: RecordSalt(5))
            let decoded = record.withUnsafeBytes { RecordCoding.decode($0, salt: RecordSalt(5)) }
            if let type = ValueType(rawValue: byte >> 4) {
                #expect((try? decoded.get())?.valueType == type)
            } else {
                #expect(decoded == .failure(.invalidField("value type \(byte >> 4)")))
            }
        }
        var tombstone = key.withUnsafeBytes { k in
            RecordCoding.encode(kind: .tombstone, codec: .none, key: k, stored: UnsafeRawBufferPointer(start: nil, count: 0),
                                rawLength: 0, createdAt: 1, expiresAt: 0, salt: RecordSalt(5))
        }
        tombstone[5] = 0x10
        RecordCoding.reseal(&tombstone, salt: RecordSalt(5))
        #expect(tombstone.withUnsafeBytes { RecordCoding.decode($0, salt: RecordSalt(5)) } == .failure(.invalidField("tombstone with a value")))
    }
}
