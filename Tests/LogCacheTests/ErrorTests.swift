import Foundation
import Testing
@testable import LogCache

#if canImport(Glibc)
import Glibc
#endif

@Suite("Errors: every bad input gets a clear typed error and loses nothing")
struct ErrorTests {
    @Test("A non-empty directory without a manifest is refused and left untouched")
    func notAStore() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try Data("precious".utf8).write(to: URL(fileURLWithPath: dir.file("notes.txt")))
        #expect(throws: CacheError.notAStore(path: dir.path)) { try CacheStore(directory: dir.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["notes.txt"])
    }

    @Test("A store of another format version is refused, never misread")
    func incompatibleVersion() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.set([1], forKey: "k")
        try store.close()
        // Version field of the manifest (bytes 8..<12).
        var manifest = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("MANIFEST"))))
        let later = FormatVersion.current + 1
        manifest[8] = UInt8(later)
        try Data(manifest).write(to: URL(fileURLWithPath: dir.file("MANIFEST")))
        #expect(throws: CacheError.incompatibleFormat(path: dir.path, found: later, supported: FormatVersion.current)) {
            try CacheStore(directory: dir.path)
        }
        let message = CacheError.incompatibleFormat(path: dir.path, found: later, supported: FormatVersion.current).description
        #expect(message.contains("version \(later)") && message.contains("version \(FormatVersion.current)"))
    }

    @Test("A damaged manifest is reported by name")
    func damagedManifest() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try CacheStore(directory: dir.path).close()
        try flipBit(dir.file("MANIFEST"), at: 20)
        #expect(throws: CacheError.corruptStore(path: dir.file("MANIFEST"), detail: "manifest checksum mismatch")) {
            try CacheStore(directory: dir.path)
        }
    }

    @Test("Keys must be 1 to 65,535 bytes; values at most 256 MiB")
    func limits() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        #expect(throws: CacheError.invalidKey(length: 0)) { try store.set([1], forKey: "") }
        let long = String(repeating: "k", count: Limits.maxKeyLength + 1)
        #expect(throws: CacheError.invalidKey(length: Limits.maxKeyLength + 1)) { try store.set([1], forKey: long) }
        let longest = String(repeating: "k", count: Limits.maxKeyLength)
        try store.set([1], forKey: longest)
        #expect(try store.value(forKey: longest) == [1])
        let huge = [UInt8](repeating: 0, count: Limits.maxValueLength + 1)
        #expect(throws: CacheError.valueTooLarge(length: huge.count, limit: Limits.maxValueLength)) {
            try store.set(huge, forKey: "huge")
        }
        #expect(store.statistics.entries == 1)
        try store.close()
    }

    @Test("Every operation on a closed store fails with .closed; close twice is harmless")
    func closed() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let store = try CacheStore(directory: dir.path)
        try store.close()
        try store.close()
        #expect(throws: CacheError.closed) { try store.set([1], forKey: "k") }
        #expect(throws: CacheError.closed) { try store.value(forKey: "k") }
        #expect(throws: CacheError.closed) { try store.removeValue(forKey: "k") }
        #expect(throws: CacheError.closed) { try store.flush() }
    }

    @Test("Handles share a store; fsck is refused while one is open, also in a killed process's place once the kernel frees it")
    func locking() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let first = try CacheStore(directory: dir.path)
        let second = try CacheStore(directory: dir.path)
        try first.set([1, 2], forKey: "k")
        #expect(try second.value(forKey: "k") == [1, 2])
        #expect(throws: CacheError.locked(path: dir.path)) { try StoreCheck.run(directory: dir.path) }
        try first.close()
        try second.close()

        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: productPath("logcache-worker"))
        holder.arguments = ["hold", dir.path]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.availableData  // "open"
        #expect(throws: CacheError.locked(path: dir.path)) { try StoreCheck.run(directory: dir.path) }
        let beside = try CacheStore(directory: dir.path)
        #expect(try beside.value(forKey: "k") == [1, 2])
        try beside.close()
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(try StoreCheck.run(directory: dir.path).ok)
    }

    @Test("Network file systems are named and refused; local ones pass")
    func networkFileSystems() throws {
        #expect(FileSystemCheck.networkName(ofType: 0x6969) == "nfs")
        #expect(FileSystemCheck.networkName(ofType: 0xFF53_4D42) == "cifs")
        #expect(FileSystemCheck.networkName(ofType: 0xEF53) == nil)  // ext4
        #expect(FileSystemCheck.networkName(ofType: 0x0102_1994) == nil)  // tmpfs
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        // The real check on the real temporary directory, which is local here.
        #expect(throws: Never.self) { try FileSystemCheck.requireLocal(dir.path) }
        #expect(CacheError.networkFileSystem(path: "/mnt/x", fileSystem: "nfs").description.contains("allowNetworkFileSystem"))
    }

    @Test("A directory that cannot be created, or a path that is a file, is refused")
    func badDirectories() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        try Data([1]).write(to: URL(fileURLWithPath: dir.file("plain")))
        #expect(throws: CacheError.notADirectory(path: dir.file("plain"))) { try CacheStore(directory: dir.file("plain")) }
        #expect(throws: CacheError.directoryUnavailable(path: dir.file("plain/sub"), errno: ENOTDIR)) {
            try CacheStore(directory: dir.file("plain/sub"))
        }
        #expect(throws: CacheError.directoryUnavailable(path: dir.file("a/b"), errno: ENOENT)) {
            try CacheStore(directory: dir.file("a/b"))
        }
    }

    @Test("Out-of-range options are refused before anything is written")
    func badOptions() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(throws: CacheError.self) { try CacheStore(directory: dir.path, options: Options(segmentSize: 100)) }
        #expect(throws: CacheError.self) { try CacheStore(directory: dir.path, options: Options(compression: .zstd(level: 99))) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("New stores are private to their owner: directory 0700, files 0600")
    func permissions() throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("store")
        let store = try CacheStore(directory: path)
        try store.set([1], forKey: "k")
        try store.close()
        let mode = { (p: String) in ((try? FileManager.default.attributesOfItem(atPath: p))?[.posixPermissions] as? Int) ?? -1 }
        #expect(mode(path) == 0o700)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            #expect(mode(path + "/" + name) == 0o600, "\(name)")
        }
    }
}
