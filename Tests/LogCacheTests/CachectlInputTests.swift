import Foundation
import Testing
@testable import LogCache

/// What cachectl does with numbers a user mistypes or a file holds: a number out of range is
/// a usage error (or a bad line) naming it, never a trap.
@Suite("cachectl refuses out-of-range seconds and expiries")
struct CachectlInputTests {
    let cachectl = productPath("cachectl")

    /// Seconds that are not a usable TTL: not numbers, not finite, not positive, or so long
    /// that the expiry would pass 9999-12-31 (or Int64 milliseconds).
    static let badSeconds = ["1e300", "9223372036854775", "9223372036854775807", "253402300800", "nan", "inf",
                             "-inf", "0", "-0", "-1", "-0.5", "abc"]

    @Test("put --ttl and init --default-ttl refuse non-finite, non-positive and too-large seconds with exit 2, naming the value")
    func badTTLs() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("s")
        for bad in Self.badSeconds {
            let put = try run(cachectl, ["put", store, "k", "v", "--ttl=\(bad)"])
            #expect(put.status == 2, "--ttl \(bad): \(put.stderr)")
            #expect(put.stderr.contains("--ttl") && put.stderr.contains("'\(bad)'"), "--ttl \(bad): \(put.stderr)")
            let initialized = try run(cachectl, ["init", store, "--default-ttl=\(bad)"])
            #expect(initialized.status == 2, "--default-ttl \(bad): \(initialized.stderr)")
            #expect(initialized.stderr.contains("--default-ttl") && initialized.stderr.contains("'\(bad)'"),
                    "--default-ttl \(bad): \(initialized.stderr)")
            #expect(!FileManager.default.fileExists(atPath: store), "a refused TTL \(bad) left a store behind")
        }
        // An empty value is a missing one.
        #expect(try run(cachectl, ["put", store, "k", "v", "--ttl="]).status == 2)
        #expect(try run(cachectl, ["init", store, "--default-ttl="]).status == 2)
        #expect(!FileManager.default.fileExists(atPath: store))
        // The smallest and a long TTL are fine.
        #expect(try run(cachectl, ["put", store, "k", "v", "--ttl", "0.0001"]).status == 0)
        #expect(try run(cachectl, ["put", store, "long", "v", "--ttl", "3153600000"]).status == 0)   // 100 years
        #expect(try run(cachectl, ["get", store, "long"]).stdout == Array("v".utf8))
        #expect(try run(cachectl, ["init", dir.file("t"), "--default-ttl", "3153600000"]).status == 0)
    }

    @Test("import refuses an expiresAt past 9999-12-31 naming the line, and keeps the lines before it")
    func importFarFutureExpiry() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        for bad in ["9e11", "253402300800", "1e300"] {
            let store = dir.file("s-\(bad)")
            let lines = "{\"key\":\"first\",\"value\":\"dg==\",\"expiresAt\":253402300799.999}\n"
                + "{\"key\":\"k\",\"value\":\"dg==\",\"expiresAt\":\(bad)}\n"
            let r = try run(cachectl, ["import", store], input: Array(lines.utf8))
            #expect(r.status == 3, "\(bad): \(r.stderr)")
            #expect(r.stderr.contains("line 2") && r.stderr.contains("expiresAt"), "\(bad): \(r.stderr)")
            #expect(try run(cachectl, ["get", store, "first"]).stdout == Array("v".utf8))
            #expect(try run(cachectl, ["get", store, "k"]).status == 1)
            let listed = try jsonObjects(try run(cachectl, ["list", store, "--json"]))
            #expect(listed.first?["expiresAt"] as? Double == 253_402_300_799.999)
        }
    }

    @Test("list and export show a record's creation time before 1970, however far, without trapping",
          arguments: [Int64.min, -999, -1])
    func hostileCreationTime(_ createdAt: Int64) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(compression: .none))
        try store.set(Array("v".utf8), forKey: Array("k".utf8), expiresAt: 253_402_300_799_999)
        try store.close()
        let record = try #require(try DamagedStoreFixture.scan(dir.path).first)
        try plantRecordField(createdAt, at: 16, segment: dir.file(record.file), record: record)
        let text = try run(cachectl, ["list", dir.path])
        #expect(text.status == 0 && text.text.hasSuffix("  k\n"), "\(text.stderr)")
        let listed = try jsonObjects(try run(cachectl, ["list", dir.path, "--json"]))
        let seconds = try #require(listed.first?["createdAt"] as? Double)
        #expect(abs(seconds - Double(createdAt) / 1000) < 1)
        #expect(listed.first?["expiresAt"] as? Double == 253_402_300_799.999)
        #expect(try run(cachectl, ["export", dir.path]).status == 0)
    }

    @Test("bench --ttl takes the largest TTL without overflowing trace time + TTL")
    func benchHugeTTL() throws {
        let r = try run(cachectl, ["bench", "--trace", "zipf:objects=100,requests=2000,seed=1", "--count-based",
                                   "--capacity", "10", "--policy", "lru,ttl", "--ttl", "9223372036854775807"])
        #expect(r.status == 0, "\(r.stderr)")
    }
}

/// The JSON array a `--json` listing printed.
private func jsonObjects(_ result: ProcessResult) throws -> [[String: Any]] {
    try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]])
}
