import Foundation
@testable import LogCache

/// A store written for damage tests, and where each of its records lies, so a test knows
/// exactly which keys a damage can cost.
struct DamagedStoreFixture {
    /// One record as it lies in a segment file.
    struct Location {
        var file: String
        var offset: Int
        var length: Int
        var key: String
        var codec: RecordCodec
        var keyLength: Int
        /// No good record follows it in its segment.
        var lastInSegment: Bool
    }

    let path: String
    /// The final value of every key written.
    var expected: [String: [UInt8]] = [:]
    var locations: [Location] = []

    /// Writes 120 keys (half of the values compressible) into segments of 4 KiB. With
    /// `duplicate`, the key "dup" is written first and again halfway, so that a damaged newer
    /// record could let the older value show through.
    init(path: String, duplicate: Bool = true, seed: UInt64 = 5) throws {
        self.path = path
        var g = SeededGenerator(seed: seed)
        let store = try CacheStore(directory: path, options: Options(compression: .zstd(level: 3), segmentSize: 4096))
        if duplicate { try store.set(Array("the old value".utf8), forKey: "dup") }
        for i in 0..<120 {
            let value = g.bytes(Int(g.next() % 300) + 60, compressible: i % 2 == 0)
            try store.set(value, forKey: "key-\(i)")
            expected["key-\(i)"] = value
            if duplicate && i == 60 {
                let newer = Array(String(repeating: "the newer value, long enough to compress. ", count: 4).utf8)
                try store.set(newer, forKey: "dup")
                expected["dup"] = newer
            }
        }
        try store.close()
        locations = try Self.scan(path)
    }

    /// Every good record of every segment file, in log order.
    static func scan(_ path: String) throws -> [Location] {
        let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".seg") }.sorted()
        var result: [Location] = []
        let salt = try storeSalt(path)
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
            var found: [Location] = []
            _ = bytes.withUnsafeBytes { b in
                SegmentScan.scan(b, from: SegmentHeader.size, salt: salt) { offset, h, record in
                    let key = String(decoding: RecordCoding.key(of: h, in: record), as: UTF8.self)
                    found.append(Location(file: name, offset: offset, length: h.totalLength, key: key, codec: h.codec,
                                          keyLength: h.keyLength, lastInSegment: false))
                }
            }
            if !found.isEmpty { found[found.count - 1].lastInSegment = true }
            result += found
        }
        return result
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// The newest record of `key`.
    func newest(_ key: String) -> Location? { locations.last { $0.key == key } }

    /// The record at `index` of segment file `name`.
    func record(_ index: Int, in name: String) -> Location? {
        let inFile = locations.filter { $0.file == name }
        return index < inFile.count ? inFile[index] : nil
    }

    /// Segment file names, oldest first.
    var segmentFiles: [String] { Array(Set(locations.map(\.file))).sorted() }

    /// Opens the store and checks every key: a key in `lost` must be a miss (never an older
    /// or damaged value), every other key must read back exactly. Returns failures as text.
    func verify(lost: Set<String>) throws -> [String] {
        let store = try CacheStore(directory: path)
        defer { try? store.close() }
        var failures: [String] = []
        for (key, value) in expected {
            let got = try store.value(forKey: key)
            if lost.contains(key) {
                if got != nil { failures.append("\(key) should be a miss but read \(got!.count) bytes") }
            } else if got != value {
                failures.append("\(key) read \(got.map { "\($0.count) other bytes" } ?? "nothing")")
            }
        }
        return failures
    }
}

/// Overwrites bytes of a file in place.
func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: bytes)
}

/// Appends bytes to a file.
func append(_ path: String, _ bytes: [UInt8]) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: bytes)
}

/// The bytes of a file.
func contents(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Parses a process's standard output as one JSON object.
func jsonObject(_ result: ProcessResult) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return object
}
