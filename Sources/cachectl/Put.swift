import ArgumentParser
import Foundation
import LogCache
import LogCacheRedis

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl put DIR KEY [VALUE]`
struct Put: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store a value under a key.",
        discussion: """
            The value comes from the VALUE argument, from --file, or else from standard input.

            Examples:
              cachectl put /var/cache/app greeting 'hello'
              cachectl put /var/cache/app report --file report.json --ttl 3600
              curl -s https://example.org | cachectl put /var/cache/app page
              cachectl put /var/cache/app greeting 'hello' --redis redis://cache-host:6379/0

            With --redis (or $LOGCACHE_REDIS_URL), the value is also written to the shared
            tier, with the same TTL.
            """
    )

    @OptionGroup var store: StoreArguments

    @Argument(help: "The key (UTF-8).")
    var key: String

    @Argument(help: "The value; omit it to use --file or standard input.")
    var value: String?

    @Option(help: "Read the value from this file.")
    var file: String?

    @Option(help: "Seconds until the value expires, at most until 9999-12-31 (default: the store's default TTL, if any).",
            transform: parseTTL)
    var ttl: Duration?

    @OptionGroup var shared: RedisArguments

    func validate() throws {
        if value != nil && file != nil { throw ValidationError("Give the value as an argument or with --file, not both.") }
    }

    func run() throws {
        let bytes: [UInt8]
        if let value {
            bytes = Array(value.utf8)
        } else if let file {
            bytes = try readFile(file)
        } else {
            bytes = try readStandardInput()
        }
        let store = try store.openOrCreate()
        if let tier = try shared.sharedCache(store) {
            try tier.set(bytes, forKey: key, ttl: ttl)
            tier.close()
            let s = tier.sharedStatistics
            if s.writes == 0 && s.skippedLarge == 0 {
                // The value is stored locally; say that it did not reach the other machines.
                FileHandle.standardError.write(Data("warning: the value is stored locally but the shared tier did not take it (\(tier.options.url))\n".utf8))
            }
        } else {
            try store.set(bytes, forKey: key, ttl: ttl)
        }
        try store.close()
    }
}

/// The whole contents of `path`.
func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CommandFailure(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    return try readAll(fd, name: path)
}

/// Everything on standard input.
func readStandardInput() throws -> [UInt8] { try readAll(0, name: "standard input") }

private func readAll(_ fd: Int32, name: String) throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CommandFailure(message: "cannot read \(name): \(String(cString: strerror(errno)))")
        }
        if n == 0 { return out }
        out.append(contentsOf: chunk[0..<n])
    }
}
