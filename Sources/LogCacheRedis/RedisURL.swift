/// Where a Redis server listens and how to log in to it, parsed from
/// `redis://[user:password@]host[:port][/db]` or `unix:///path[?db=N]`.
///
/// `rediss://` (TLS) is refused with a message that says why: hiredis 0.14, the client the
/// tier is built on, has no TLS. A local TLS tunnel (stunnel, spiped) in front of a managed
/// service is the way to reach one (docs/shared-tier.md).
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable {
        /// A host name or address and a TCP port.
        case tcp(host: String, port: Int)
        /// The path of a Unix domain socket.
        case unix(path: String)
    }

    /// Where the server listens.
    public var endpoint: Endpoint
    /// The user of `AUTH user password` (Redis 6 ACLs); nil for `AUTH password`.
    public var user: String?
    /// The password; nil when the server asks for none.
    public var password: String?
    /// The logical database (`SELECT`), 0 by default.
    public var database: Int

    /// The URL parsed; percent escapes in the user and password are decoded.
    public init(_ text: String) throws(SharedTierError) {
        func fail(_ reason: String) -> SharedTierError { .invalidURL(Self.redacted(text), reason: reason) }
        if text.hasPrefix("rediss://") {
            throw fail("TLS (rediss://) is not supported by the hiredis 0.14 client; reach the server through a local TLS tunnel and use redis:// to it")
        }
        if text.hasPrefix("unix://") {
            var rest = String(text.dropFirst("unix://".count))
            var database = 0
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = String(rest[..<q])
                for pair in query.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2, parts[0] == "db", let n = Int(parts[1]), n >= 0 else {
                        throw fail("the only query parameter is db=N, a database number")
                    }
                    database = n
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("a unix:// URL names an absolute socket path, as in unix:///run/redis.sock") }
            self.init(endpoint: .unix(path: rest), user: nil, password: nil, database: database)
            return
        }
        guard text.hasPrefix("redis://") else { throw fail("it must start with redis:// or unix://") }
        var rest = Substring(text.dropFirst("redis://".count))
        var user: String?, password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let u = String(credentials[..<colon])
                user = u.isEmpty ? nil : try Self.unescape(u, in: text)
                password = try Self.unescape(String(credentials[credentials.index(after: colon)...]), in: text)
            } else {
                // `redis://secret@host`: as redis-cli reads it, the one credential is the password.
                password = try Self.unescape(String(credentials), in: text)
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let n = Int(db), n >= 0 else { throw fail("the path is a database number, as in redis://host:6379/2") }
                database = n
            }
        }
        var host = String(rest), port = 6379
        if host.hasPrefix("[") {
            // An IPv6 address: [::1]:6379.
            guard let close = host.firstIndex(of: "]") else { throw fail("an IPv6 address is closed with ]") }
            let after = host[host.index(after: close)...]
            let address = String(host[host.index(after: host.startIndex)..<close])
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { throw fail("the port is not a number") }
                port = p
            } else if !after.isEmpty {
                throw fail("only :PORT may follow an IPv6 address")
            }
            host = address
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { throw fail("the port is not a number") }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty else { throw fail("it names no host") }
        guard (1...65535).contains(port) else { throw fail("the port \(port) is not between 1 and 65535") }
        self.init(endpoint: .tcp(host: host, port: port), user: user, password: password, database: database)
    }

    /// A URL from its parts.
    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// The URL with the password left out, for logs and statistics.
    public var description: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            let login = password == nil ? "" : "\(user ?? ""):***@"
            return "redis://\(login)\(shownHost):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// `text` with anything between `://` and `@` hidden, for messages about a URL that did
    /// not parse.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.firstRange(of: "://"), let at = text.lastIndex(of: "@"), at > scheme.upperBound else { return text }
        return String(text[..<scheme.upperBound]) + "***" + String(text[at...])
    }

    private static func unescape(_ part: String, in text: String) throws(SharedTierError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(part.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "%") {
                guard utf8.count >= 2, let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                    throw .invalidURL(redacted(text), reason: "a % in the user or password is not followed by two hex digits")
                }
                bytes.append(v)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
