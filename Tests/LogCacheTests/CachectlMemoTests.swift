import Foundation
import Testing
@testable import LogCache

@Suite("cachectl on memoized results: namespaces, list and clear one namespace")
struct CachectlMemoTests {
    let cachectl = productPath("cachectl")

    /// A store with results in two versions of "chat", one in "search" (a cached failure),
    /// and a plain key.
    func makeStore(_ path: String) throws {
        let store = try CacheStore(directory: path)
        for i in 0..<3 {
            _ = try store.memoize(namespace: "chat", version: "1", key: ["prompt": "p\(i)"]) { () -> String in
                Thread.sleep(forTimeInterval: 0.02)
                return "answer \(i)"
            }
        }
        _ = try store.memoize(namespace: "chat", version: "2", key: ["prompt": "p0"]) { "answer v2" }
        _ = try? store.memoize(namespace: "search", version: "1", key: "q", errors: .always(ttl: .seconds(600))) { () throws -> String in
            throw Flaky()
        }
        try store.set(Array("plain".utf8), forKey: "plain")
        try store.close()
    }

    @Test("namespaces lists each namespace with its versions, entries, failures and recorded time")
    func namespaces() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try makeStore(dir.path)
        let result = try run(cachectl, ["namespaces", dir.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [[String: Any]])
        #expect(rows.map { $0["namespace"] as? String } == ["chat", "search"])
        #expect(rows[0]["entries"] as? Int == 4 && rows[0]["failures"] as? Int == 0)
        #expect(rows[0]["versions"] as? [String: Int] == ["1": 3, "2": 1])
        #expect((rows[0]["computeSeconds"] as? Double ?? 0) >= 0.06)
        #expect(rows[1]["entries"] as? Int == 1 && rows[1]["failures"] as? Int == 1)
        let text = try run(cachectl, ["namespaces", dir.path]).text.split(separator: "\n")
        #expect(text.count == 3 && text[1].hasPrefix("chat") && text[1].hasSuffix("1 (3), 2 (1)"))
    }

    @Test("list --namespace [--version] shows only that namespace's keys")
    func list() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try makeStore(dir.path)
        func keys(_ extra: [String]) throws -> [String] {
            let r = try run(cachectl, ["list", dir.path, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])
            return rows.compactMap { $0["key"] as? String }
        }
        let chat = try keys(["--namespace", "chat"])
        #expect(chat.count == 4 && chat.allSatisfy { $0.hasPrefix("memo/chat/") })
        #expect(try keys(["--namespace", "chat", "--version", "2"]).count == 1)
        #expect(try keys(["--namespace", "cha"]).isEmpty)
        #expect(try run(cachectl, ["list", dir.path, "--namespace", "a/b"]).status == 2)
        #expect(try run(cachectl, ["list", dir.path, "--version", "1"]).status == 2)
        #expect(try run(cachectl, ["list", dir.path, "--namespace", "chat", "--prefix", "memo/"]).status == 2)
    }

    @Test("clear --namespace removes that namespace (or one version) and nothing else")
    func clear() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try makeStore(dir.path)
        #expect(try run(cachectl, ["clear", dir.path, "--namespace", "chat", "--version", "1", "--yes"]).status == 0)
        var store = try CacheStore(directory: dir.path)
        #expect(try store.memoEntries(namespace: "chat").count == 1)
        #expect(try store.memoEntries(namespace: "search").count == 1)
        try store.close()

        #expect(try run(cachectl, ["clear", dir.path, "--namespace", "chat"]).status == 2)   // no terminal, no --yes
        #expect(try run(cachectl, ["clear", dir.path, "--namespace", "chat", "--yes"]).status == 0)
        store = try CacheStore(directory: dir.path)
        #expect(try store.memoEntries(namespace: "chat").isEmpty)
        #expect(try store.memoEntries(namespace: "search").count == 1)
        #expect(try store.value(forKey: "plain") == Array("plain".utf8))
        // The results really are gone: memoize computes again.
        let again = try store.memoize(namespace: "chat", version: "2", key: ["prompt": "p0"]) { "recomputed" }
        #expect(again == "recomputed")
        try store.close()
    }
}
