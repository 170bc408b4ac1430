import Foundation
import Testing
@testable import LogCache

/// What cachectl does with a path a user mistypes: it never becomes a new store.
@Suite("cachectl refuses paths that hold no store")
struct CachectlMissingStoreTests {
    let cachectl = productPath("cachectl")

    /// Every subcommand that works on an existing store, with the arguments it needs.
    private func commandsOnExistingStores(_ path: String) -> [[String]] {
        [["get", path, "k"], ["delete", path, "k"], ["stats", path], ["stats", path, "--json"], ["list", path],
         ["list", path, "--json"], ["export", path], ["clear", path, "--yes"], ["compact", path], ["namespaces", path],
         ["fsck", path], ["fsck", path, "--repair"], ["fsck", path, "--json"]]
    }

    @Test("Every subcommand but init, put and import refuses a missing directory with exit 3 and creates nothing")
    func missingDirectory() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let missing = dir.file("typo")
        for arguments in commandsOnExistingStores(missing) {
            let r = try run(cachectl, arguments)
            #expect(r.status == 3, "\(arguments): \(r.stderr)")
            #expect(r.stderr == "cachectl: no LogCache store at \(missing)\n", "\(arguments)")
            #expect(r.stdout.isEmpty, "\(arguments)")
            #expect(!FileManager.default.fileExists(atPath: missing), "\(arguments) created \(missing)")
        }
    }

    @Test("Every subcommand but init, put and import refuses a directory that holds no store, and writes nothing into it")
    func directoryWithoutStore() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let empty = dir.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let other = dir.file("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: false)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: other + "/notes.txt"))
        let file = dir.file("plain-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for path in [empty, other, file] {
            let before = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for arguments in commandsOnExistingStores(path) {
                let r = try run(cachectl, arguments)
                #expect(r.status == 3, "\(arguments): \(r.stderr)")
                #expect(r.stderr == "cachectl: no LogCache store at \(path)\n", "\(arguments)")
                #expect(((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []) == before, "\(arguments) wrote into \(path)")
            }
        }
    }

    @Test("fsck still checks and repairs a store whose manifest was lost")
    func fsckWithoutManifest() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set([1], forKey: "k")
        try store.close()
        try FileManager.default.removeItem(atPath: dir.file(Manifest.fileName))
        #expect(try run(cachectl, ["fsck", dir.path]).status == 1)
        #expect(try run(cachectl, ["fsck", dir.path, "--repair"]).status == 0)
        #expect(try run(cachectl, ["get", dir.path, "k"]).stdout == [1])
    }

    @Test("put and import create a store where there is none")
    func putAndImportCreate() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(try run(cachectl, ["put", dir.file("a"), "k", "v"]).status == 0)
        #expect(try run(cachectl, ["get", dir.file("a"), "k"]).stdout == Array("v".utf8))
        let line = Array("{\"key\":\"k\",\"value\":\"dg==\",\"expiresAt\":null}\n".utf8)
        #expect(try run(cachectl, ["import", dir.file("b")], input: line).status == 0)
        #expect(try run(cachectl, ["get", dir.file("b"), "k"]).stdout == Array("v".utf8))
    }
}
