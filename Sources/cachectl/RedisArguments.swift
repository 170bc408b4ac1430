import ArgumentParser
import Foundation
import LogCache
import LogCacheRedis

/// `--redis URL`: the shared tier behind the store, for `get`, `put` and `stats`
/// (docs/shared-tier.md). Without the option, `LOGCACHE_REDIS_URL` from the environment; the
/// secret of the values' tags comes from `LOGCACHE_REDIS_SECRET` only, so that it is never on
/// a command line.
struct RedisArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The shared tier: redis://[user:password@]host:port/db or unix:///path (default: $LOGCACHE_REDIS_URL).",
                               valueName: "url"))
    var redis: String?

    @Option(help: "The key prefix of the shared tier in Redis.")
    var redisPrefix = "logcache:"

    /// The URL given, else the environment's; nil for no shared tier.
    var url: String? {
        if let redis { return redis }
        let env = ProcessInfo.processInfo.environment["LOGCACHE_REDIS_URL"]
        return env?.isEmpty == false ? env : nil
    }

    /// The shared tier in front of `store`, or nil without a URL.
    func sharedCache(_ store: CacheStore) throws -> SharedCache? {
        guard let url else { return nil }
        do {
            var options = try SharedTierOptions(url: url)
            options.keyPrefix = redisPrefix
            if let secret = ProcessInfo.processInfo.environment["LOGCACHE_REDIS_SECRET"], !secret.isEmpty {
                options.secret = Array(secret.utf8)
            }
            return try SharedCache(local: store, options: options)
        } catch {
            throw CommandFailure(message: "\(error)")
        }
    }
}
