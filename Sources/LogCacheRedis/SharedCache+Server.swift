/// What `cachectl stats --redis` shows of the server behind the tier.
public struct SharedTierServerReport: Sendable, Codable, Equatable {
    /// The server's URL, its password hidden.
    public var url: String
    /// Whether it answered a PING.
    public var reachable: Bool
    /// How long the PING took, in microseconds; nil when it failed.
    public var pingMicroseconds: Int?
    /// Why it could not be reached; nil when it could.
    public var error: String?
    /// Values under the tier's prefix (counted with SCAN); nil when unknown.
    public var sharedValues: Int?
    /// Leases held now (computations in progress somewhere); nil when unknown.
    public var leases: Int?
    /// The server's `used_memory`, `maxmemory`, `maxmemory_policy`, `evicted_keys` and
    /// `redis_version` from INFO, as it reports them.
    public var info: [String: String]
}

extension SharedCache {
    /// Asks the server how it is and what the tier has there. The counts walk the keyspace
    /// with SCAN, so they take a moment on a large server, without blocking it.
    public func serverReport() -> SharedTierServerReport {
        var report = SharedTierServerReport(url: options.url.description, reachable: false, info: [:])
        switch ping() {
        case .failure(let error):
            report.error = error.description
            return report
        case .success(let elapsed):
            report.reachable = true
            let (s, atto) = elapsed.components
            report.pingMicroseconds = Int(s) * 1_000_000 + Int(atto / 1_000_000_000_000)
        }
        report.sharedValues = count(prefix: valuePrefix)
        report.leases = count(prefix: leasePrefix)
        let wanted: Set<String> = ["used_memory", "maxmemory", "maxmemory_policy", "evicted_keys", "redis_version"]
        if let text = pool.exchange({ c throws(SharedTierError) in try c.command([Array("INFO".utf8)]).bytes() }), let text {
            for line in String(decoding: text, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
                if parts.count == 2, wanted.contains(parts[0]) { report.info[parts[0]] = parts[1] }
            }
        }
        return report
    }

    /// The keys under `prefix`, counted with SCAN; nil when Redis failed on the way.
    func count(prefix: [UInt8]) -> Int? {
        var cursor: [UInt8] = Array("0".utf8)
        var total = 0
        repeat {
            let step = pool.exchange { c throws(SharedTierError) -> ([UInt8], Int) in
                let reply = try c.command([Array("SCAN".utf8), cursor, Array("MATCH".utf8), Self.glob(prefix),
                                           Array("COUNT".utf8), Array("1000".utf8)])
                guard case .array(let parts) = reply, parts.count == 2, case .string(let next) = parts[0],
                      case .array(let keys) = parts[1] else {
                    if case .error(let message) = reply { throw .reply(message) }
                    throw .reply("SCAN answered \(reply.kind)")
                }
                return (next, keys.count)
            }
            guard let step else { return nil }
            cursor = step.0
            total += step.1
        } while cursor != Array("0".utf8)
        return total
    }

    /// A SCAN pattern for every key that starts with `prefix`: its glob characters escaped.
    static func glob(_ prefix: [UInt8]) -> [UInt8] {
        var pattern: [UInt8] = []
        for b in prefix {
            if [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\\")].contains(b) {
                pattern.append(UInt8(ascii: "\\"))
            }
            pattern.append(b)
        }
        pattern.append(UInt8(ascii: "*"))
        return pattern
    }
}
