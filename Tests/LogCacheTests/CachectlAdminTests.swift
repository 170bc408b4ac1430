import Foundation
import Testing
@testable import LogCache

@Suite("cachectl init, list, export, import, clear as an operator runs them")
struct CachectlAdminTests {
    let cachectl = productPath("cachectl")

    @Test("init keeps the settings given, stats shows them; a second init is refused")
    func initAndStats() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("s")
        let created = try run(cachectl, ["init", store, "--capacity", "1.5MiB", "--max-entries", "500", "--policy", "lfu",
                                         "--compression", "lz4", "--segment-size", "8KiB", "--default-ttl", "3600"])
        #expect(created.status == 0 && created.stdout.isEmpty)
        let stats = try jsonObject(try run(cachectl, ["stats", store, "--json"]))
        #expect(stats["compression"] as? String == "lz4")
        #expect(stats["policy"] as? String == "lfu")
        #expect(stats["capacity"] as? Int == 1_572_864)
        #expect(stats["maxEntries"] as? Int == 500)
        #expect(stats["segmentSize"] as? Int == 8192)
        #expect(stats["defaultTTLSeconds"] as? Double == 3600)
        let text = try run(cachectl, ["stats", store]).text
        #expect(text.contains("lfu") && text.contains("1.5 MiB") && text.contains("8.0 KiB"))

        let again = try run(cachectl, ["init", store, "--compression", "none"])
        #expect(again.status == 3 && again.stderr.contains("already") && again.stderr.contains(store))
        #expect(try jsonObject(try run(cachectl, ["stats", store, "--json"]))["compression"] as? String == "lz4")

        let zstd = dir.file("z")
        #expect(try run(cachectl, ["init", zstd, "--zstd-level", "9", "--capacity", "2GB"]).status == 0)
        let z = try jsonObject(try run(cachectl, ["stats", zstd, "--json"]))
        #expect(z["compression"] as? String == "zstd(level: 9)")
        #expect(z["capacity"] as? Int == 2_000_000_000)
        #expect(z["maxEntries"] is NSNull && z["defaultTTLSeconds"] is NSNull)

        for bad in [["--capacity", "12XB"], ["--capacity", "-5"], ["--policy", "mru"], ["--segment-size", "100"],
                    ["--compression", "lz4", "--zstd-level", "3"], ["--compression", "brotli"]] {
            let r = try run(cachectl, ["init", dir.file("bad")] + bad)
            #expect(r.status == 2, "init \(bad) should be a usage error")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("bad")))
    }

    @Test("init --policy takes every policy the store has, by its name or alias; the store evicts with it across cachectl runs")
    func initEveryPolicy() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let names = PolicyKind.allCases.map(\.description) + ["s3fifo", "wtinylfu", "TwoQ"]
        for (i, name) in names.enumerated() {
            let store = dir.file("s\(i)")
            let created = try run(cachectl, ["init", store, "--max-entries", "4", "--policy", name])
            #expect(created.status == 0, "\(name): \(created.stderr)")
            guard let expected = PolicyKind(name: name) else {
                Issue.record("\(name) names no policy")
                continue
            }
            #expect(try jsonObject(try run(cachectl, ["stats", store, "--json"]))["policy"] as? String == expected.description)
            for k in 0..<6 { #expect(try run(cachectl, ["put", store, "k\(k)", "v\(k)"]).status == 0) }
            let stats = try jsonObject(try run(cachectl, ["stats", store, "--json"]))
            #expect(stats["entries"] as? Int == 4, "\(name)")
        }
        let bad = try run(cachectl, ["init", dir.file("bad"), "--policy", "mru"])
        #expect(bad.status == 2 && bad.stderr.contains("s3-fifo") && bad.stderr.contains("2q"))
    }

    @Test("list: log order, --prefix, --limit, --json; binary keys in base64")
    func list() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        for i in 1...5 { try store.set(Array("value \(i)".utf8), forKey: "user/\(i)") }
        try store.set(Array(repeating: 7, count: 1000), forKey: "other", ttl: .seconds(600))
        try store.set([1, 2], forKey: [0xFF, 0x00, 0xFE])
        try store.close()

        let limited = try run(cachectl, ["list", dir.path, "--prefix", "user/", "--limit", "3", "--json"])
        #expect(limited.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(limited.stdout)) as? [[String: Any]])
        #expect(rows.map { $0["key"] as? String } == ["user/1", "user/2", "user/3"])
        #expect(rows[0]["rawLength"] as? Int == 7 && rows[0]["expiresAt"] is NSNull)
        #expect((rows[0]["recordLength"] as? Int ?? 0) > 7)

        let all = try run(cachectl, ["list", dir.path, "--json"])
        let everything = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout)) as? [[String: Any]])
        #expect(everything.count == 7)
        let other = try #require(everything.first { $0["key"] as? String == "other" })
        #expect(other["rawLength"] as? Int == 1000)
        #expect((other["storedLength"] as? Int ?? 1000) < 1000)
        let expires = try #require(other["expiresAt"] as? Double)
        #expect(abs(expires - Date().timeIntervalSince1970 - 600) < 60)
        let binary = try #require(everything.last)
        #expect(binary["keyEncoding"] as? String == "base64")
        #expect(binary["key"] as? String == Data([0xFF, 0x00, 0xFE]).base64EncodedString())

        let text = try run(cachectl, ["list", dir.path])
        let lines = text.text.split(separator: "\n")
        #expect(text.status == 0 && lines.count == 8)
        #expect(lines.last?.hasSuffix("base64:" + Data([0xFF, 0x00, 0xFE]).base64EncodedString()) == true)
        #expect(lines.contains { $0.contains("in 9m") && $0.hasSuffix("other") })

        let none = try run(cachectl, ["list", dir.path, "--prefix", "nothing", "--json"])
        #expect(none.status == 0 && none.text == "[]\n")
        let notStore = try run(cachectl, ["list", dir.file("missing")])
        #expect(notStore.status == 3 && !FileManager.default.fileExists(atPath: dir.file("missing")))
    }

    @Test("export then import into a new store gives the same entries, binary keys and expiry moments included")
    func exportImportRoundTrip() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let source = dir.file("source")
        let store = try CacheStore(directory: source, options: Options(segmentSize: 4096))
        var g = SeededGenerator(seed: 3)
        var expected: [[UInt8]: [UInt8]] = [:]
        for i in 0..<150 {
            let key = Array("key \"\(i)\"\n\\é".utf8)
            let value = g.bytes(Int(g.next() % 500), compressible: i % 2 == 0)
            try store.set(value, forKey: key, ttl: i % 3 == 0 ? .seconds(3600 + i) : nil)
            expected[key] = value
        }
        for key: [UInt8] in [[0xFF], [0xC3, 0x28, 0], Array(repeating: 0x80, count: 300)] {
            let value = g.bytes(40)
            try store.set(value, forKey: key)
            expected[key] = value
        }
        var types: [[UInt8]: ValueType] = [:]
        for type in ValueType.allCases {
            let key = Array("typed-\(type)".utf8), value = Array("\"\(type)\"".utf8)
            try store.set(value, forKey: key, type: type)
            expected[key] = value
            types[key] = type
        }
        try store.set([9], forKey: "gone")
        try store.removeValue(forKey: "gone")
        let before = try store.entries()
        try store.close()

        let file = dir.file("dump.jsonl")
        let export = try run(cachectl, ["export", source, "--output", file])
        #expect(export.status == 0 && export.stdout.isEmpty)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == expected.count)
        #expect(lines.contains { $0.contains("\"keyEncoding\":\"base64\"") })
        #expect(lines.filter { $0.contains("\"type\":") }.count == 3)

        for (target, result) in [
            (dir.file("copy"), try run(cachectl, ["import", dir.file("copy"), file])),
            (dir.file("piped"), try run(cachectl, ["import", dir.file("piped")], input: try contents(file))),
        ] {
            #expect(result.status == 0, "\(result.stderr)")
            let copy = try CacheStore(directory: target)
            for (key, value) in expected {
                #expect(try copy.value(forKey: key) == value)
                #expect(try copy.typedValue(forKey: key)?.type == types[key] ?? .bytes)
            }
            #expect(try copy.value(forKey: "gone") == nil)
            let after = try copy.entries()
            #expect(after.count == expected.count)
            let expiries = Dictionary(uniqueKeysWithValues: before.map { ($0.key, $0.expiresAt) })
            for entry in after { #expect(entry.expiresAt == expiries[entry.key] ?? nil) }
            try copy.close()
        }
        // Exporting the copy gives the same lines (same order, same expiry moments).
        let again = try run(cachectl, ["export", dir.file("copy")])
        #expect(again.text.split(separator: "\n") == lines)
    }

    @Test("import stops at a bad line, naming it; the lines before it are imported, none after")
    func importBadLine() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let past = Date().timeIntervalSince1970 - 10
        let input = """
            {"key":"a","value":"AQ==","expiresAt":null}

            {"key":"b","value":"Ag==","expiresAt":\(past)}
            {"key":"c","value":"not base64!","expiresAt":null}
            {"key":"d","value":"BA==","expiresAt":null}
            """
        let dry = try run(cachectl, ["import", dir.path, "--dry-run"], input: Array(input.utf8))
        #expect(dry.status == 3 && dry.stderr.contains("line 4") && dry.stderr.contains("nothing was written"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("MANIFEST")))

        let result = try run(cachectl, ["import", dir.path], input: Array(input.utf8))
        #expect(result.status == 3)
        #expect(result.stderr.contains("standard input line 4") && result.stderr.contains("\"value\" is not valid base64"))
        #expect(result.stderr.contains("1 entry from the lines before it imported, nothing from this line on"))
        let store = try CacheStore(directory: dir.path)
        #expect(try store.value(forKey: "a") == [1])
        #expect(try store.value(forKey: "b") == nil)   // already expired: skipped
        #expect(try store.value(forKey: "d") == nil)
        try store.close()

        for (line, message) in [("not json", "not a JSON object"), ("{\"value\":\"AQ==\"}", "\"key\" is missing"),
                                ("{\"key\":\"\",\"value\":\"AQ==\"}", "keys are 1 to"),
                                ("{\"key\":\"k\",\"keyEncoding\":\"hex\",\"value\":\"AQ==\"}", "keyEncoding"),
                                ("{\"key\":\"k\",\"value\":\"AQ==\",\"expiresAt\":\"soon\"}", "expiresAt")] {
            let r = try run(cachectl, ["import", dir.path], input: Array(line.utf8))
            #expect(r.status == 3 && r.stderr.contains("line 1") && r.stderr.contains(message), "\(line): \(r.stderr)")
        }
    }

    @Test("clear --yes removes every entry and frees the segments; without --yes and no terminal it refuses")
    func clear() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path, options: Options(segmentSize: 4096))
        var g = SeededGenerator(seed: 4)
        for i in 0..<100 { try store.set(g.bytes(200), forKey: "k\(i)") }
        try store.close()
        let oldSegments = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".seg") }
        #expect(oldSegments.count > 3)

        let refused = try run(cachectl, ["clear", dir.path])
        #expect(refused.status == 2 && refused.stderr.contains("--yes"))
        #expect(try jsonObject(try run(cachectl, ["stats", dir.path, "--json"]))["entries"] as? Int == 100)

        #expect(try run(cachectl, ["clear", dir.path, "--yes"]).status == 0)
        #expect(try jsonObject(try run(cachectl, ["stats", dir.path, "--json"]))["entries"] as? Int == 0)
        #expect(try run(cachectl, ["get", dir.path, "k1"]).status == 1)
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".seg") }
        #expect(segments.count == 1 && !oldSegments.contains(segments[0]))
        #expect(try run(cachectl, ["put", dir.path, "k1", "again"]).status == 0)
        #expect(try run(cachectl, ["get", dir.path, "k1"]).stdout == Array("again".utf8))
        #expect(try run(cachectl, ["fsck", dir.path]).status == 0)
    }

    @Test("Every subcommand has --help with examples; the root help lists them and the exit codes")
    func help() throws {
        let root = try run(cachectl, ["--help"])
        #expect(root.status == 0 && root.text.contains("Exit codes"))
        for name in ["init", "put", "get", "delete", "list", "stats", "fsck", "export", "import", "clear"] {
            #expect(root.text.contains(name), "root help should list \(name)")
            let help = try run(cachectl, [name, "--help"])
            #expect(help.status == 0 && help.text.contains("Example"), "\(name) --help")
        }
    }
}
