import Foundation
import Testing
@testable import LogCache

@Suite("cachectl put, get, delete, stats as a user runs them")
struct CachectlTests {
    let cachectl = productPath("cachectl")

    @Test("put from an argument, a file and standard input; get prints the bytes; exit codes 0 and 1")
    func putGetDelete() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = dir.file("store")
        #expect(try run(cachectl, ["put", store, "greeting", "hello"]).status == 0)
        let got = try run(cachectl, ["get", store, "greeting"])
        #expect(got.status == 0 && got.stdout == Array("hello".utf8))

        var g = SeededGenerator(seed: 1)
        let binary = g.bytes(50_000)
        try Data(binary).write(to: URL(fileURLWithPath: dir.file("blob")))
        #expect(try run(cachectl, ["put", store, "blob", "--file", dir.file("blob")]).status == 0)
        #expect(try run(cachectl, ["get", store, "blob"]).stdout == binary)

        #expect(try run(cachectl, ["put", store, "piped"], input: Array("from stdin".utf8)).status == 0)
        #expect(try run(cachectl, ["get", store, "piped"]).stdout == Array("from stdin".utf8))

        let miss = try run(cachectl, ["get", store, "nothing"])
        #expect(miss.status == 1 && miss.stdout.isEmpty)
        #expect(try run(cachectl, ["delete", store, "greeting"]).status == 0)
        #expect(try run(cachectl, ["delete", store, "greeting"]).status == 1)
        #expect(try run(cachectl, ["get", store, "greeting"]).status == 1)
    }

    @Test("stats --json has the statistics keys plus formatVersion and compression")
    func statsJSON() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        _ = try run(cachectl, ["put", dir.path, "a", "1"])
        _ = try run(cachectl, ["put", dir.path, "b", "2"])
        let result = try run(cachectl, ["stats", dir.path, "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        for key in ["entries", "liveBytes", "diskBytes", "segments", "hits", "misses", "writes", "deletes",
                    "expirations", "tornRecordsDropped", "formatVersion", "compression"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["entries"] as? Int == 2)
        #expect(object["formatVersion"] as? Int == Int(FormatVersion.current))
        let table = try run(cachectl, ["stats", dir.path])
        #expect(table.status == 0 && table.text.contains("entries"))
    }

    @Test("--ttl makes a value expire")
    func ttl() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // Long enough for a second process to start on a loaded machine.
        #expect(try run(cachectl, ["put", dir.path, "k", "v", "--ttl", "3"]).status == 0)
        #expect(try run(cachectl, ["get", dir.path, "k"]).status == 0)
        Thread.sleep(forTimeInterval: 3.2)
        #expect(try run(cachectl, ["get", dir.path, "k"]).status == 1)
    }

    @Test("Usage errors exit 2; store failures exit 3 with a one-line message naming the path")
    func failures() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(try run(cachectl, ["get"]).status == 2)
        #expect(try run(cachectl, ["frobnicate"]).status == 2)
        #expect(try run(cachectl, ["put", dir.path, "k", "v", "--file", "x"]).status == 2)
        #expect(try run(cachectl, ["put", dir.path, "k", "--ttl", "-1"]).status == 2)
        try Data([1]).write(to: URL(fileURLWithPath: dir.file("other")))
        let notStore = try run(cachectl, ["get", dir.path, "k"])
        #expect(notStore.status == 3)
        #expect(notStore.stderr.contains(dir.path) && notStore.stderr.contains("no LogCache store at"))
        #expect(notStore.stderr.split(separator: "\n").count == 1)
        let missingFile = try run(cachectl, ["put", dir.file("s"), "k", "--file", dir.file("nope")])
        #expect(missingFile.status == 3 && missingFile.stderr.contains("nope"))
        let help = try run(cachectl, ["--help"])
        #expect(help.status == 0 && help.text.contains("Exit codes"))
    }
}
