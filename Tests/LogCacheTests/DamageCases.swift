import Foundation
@testable import LogCache

/// Settings of the seeded damage suites, from the environment so that tools/damage can run
/// thousands of cases with the same code the normal suite runs a few hundred of.
enum DamageRun {
    /// `LOGCACHE_DAMAGE_CASES`: cases per suite (the normal suite's default when unset).
    static func cases(default value: Int) -> Int {
        ProcessInfo.processInfo.environment["LOGCACHE_DAMAGE_CASES"].flatMap { Int($0) } ?? value
    }

    /// `LOGCACHE_DAMAGE_SEED`: the first seed; case `i` uses seed + i, so any failure names
    /// the one seed that replays it.
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["LOGCACHE_DAMAGE_SEED"].flatMap { UInt64($0) } ?? 1
    }

    /// Cases run in parallel shards; shard `s` of `n` takes every case `i` with i % n == s.
    static let shards = 4
}

/// Copies a store directory, so that one damaged store can be checked, opened and repaired
/// separately (opening already cuts torn tails and rewrites index files).
func copyStore(_ from: String, to: String) throws {
    try? FileManager.default.removeItem(atPath: to)
    try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: from) {
        // A store that is open goes on changing while it is copied: a temporary file renamed
        // away meanwhile (a seal's index file, say) was not there to copy.
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: from + "/" + name, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue {
            try FileManager.default.copyItem(atPath: from + "/" + name, toPath: to + "/" + name)
            continue
        }
        guard let bytes = FileManager.default.contents(atPath: from + "/" + name) else { continue }
        try Data(bytes).write(to: URL(fileURLWithPath: to + "/" + name))
    }
}

/// Cuts the file at `path` to `length` bytes.
func truncateFile(_ path: String, to length: Int) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: UInt64(length))
}

extension SeededGenerator {
    /// A number in `range`.
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    /// Bytes that differ from `original` at every position (XOR with a non-zero mask).
    mutating func changed(_ original: ArraySlice<UInt8>) -> [UInt8] {
        original.map { $0 ^ UInt8(1 + next() % 255) }
    }
}
