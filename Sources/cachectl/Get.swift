import ArgumentParser
import LogCache
import LogCacheRedis

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl get DIR KEY`
struct Get: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the value of a key to standard output.",
        discussion: """
            Exit code 0 on a hit, 1 on a miss (absent or expired). With --redis (or
            $LOGCACHE_REDIS_URL), a local miss asks the shared tier, and a value found there is
            kept in the store.

            Examples:
              cachectl get /var/cache/app greeting > greeting.txt
              cachectl get /var/cache/app greeting --redis redis://cache-host:6379/0
            """
    )

    @OptionGroup var store: StoreArguments

    @Argument(help: "The key (UTF-8).")
    var key: String

    @OptionGroup var shared: RedisArguments

    func run() throws {
        let found = try store.withExisting { s -> [UInt8]? in
            guard let tier = try shared.sharedCache(s) else { return try s.value(forKey: key) }
            defer { tier.close() }
            return try tier.value(forKey: key)
        }
        guard let value = found else { throw ExitCode(1) }
        try writeStandardOutput(value)
    }
}

/// Writes raw bytes to standard output.
func writeStandardOutput(_ bytes: [UInt8]) throws {
    guard writeAll(1, bytes) else {
        throw CommandFailure(message: "cannot write to standard output: \(String(cString: strerror(errno)))")
    }
}
