import Foundation

/// How the proxy runs: where its store is, what it forwards to, what it caches.
public struct ProxyOptions: Sendable {
    /// The store directory.
    public var store: String
    /// The upstream's base URL, without a trailing slash: `https://api.openai.com`.
    public var upstream: String
    public var host: String
    public var port: Int
    /// Seconds a new response is kept; nil for the store's default TTL.
    public var ttl: Int?
    /// The namespace of the keys (a request's `X-LogCache-Namespace` overrides it).
    public var namespace: String
    /// Headers, lowercased, whose values are part of the key.
    public var keyHeaders: [String]
    /// Path prefixes whose POSTs are cached, besides the default endpoints.
    public var cachePaths: [String]
    /// Larger request bodies are forwarded uncached.
    public var maxBody: Int
    /// Seconds an upstream call may take.
    public var upstreamTimeout: Int

    /// The endpoints whose answer is a function of the request body.
    public static let defaultCachePaths = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations"]

    public init(store: String, upstream: String, host: String = "127.0.0.1", port: Int = 8787, ttl: Int? = nil,
                namespace: String = "proxy", keyHeaders: [String] = [], cachePaths: [String] = [],
                maxBody: Int = 10 << 20, upstreamTimeout: Int = 600) {
        self.store = store
        self.upstream = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        self.host = host
        self.port = port
        self.ttl = ttl
        self.namespace = namespace
        self.keyHeaders = keyHeaders.map { $0.lowercased() }
        self.cachePaths = cachePaths
        self.maxBody = maxBody
        self.upstreamTimeout = upstreamTimeout
    }

    /// Whether a request of `method` to `path` (without its query) is cached.
    func caches(method: String, path: String) -> Bool {
        guard method == "POST" else { return false }
        return Self.defaultCachePaths.contains(path) || cachePaths.contains { path.hasPrefix($0) }
    }

    /// Checks the upstream URL: http or https; plain http only to a loopback host unless allowed.
    public static func checkUpstream(_ url: String, allowInsecure: Bool) throws -> String {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), let host = u.host, !host.isEmpty,
              scheme == "http" || scheme == "https"
        else { throw ProxyConfigurationError("--upstream \(url) is not an http:// or https:// URL with a host") }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        if scheme == "http", !loopback, !allowInsecure {
            throw ProxyConfigurationError("--upstream \(url) is plain http to a host that is not loopback: API keys would cross the network in clear; use https, or --allow-insecure-upstream")
        }
        return url
    }
}

/// A setting the proxy cannot start with.
public struct ProxyConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
