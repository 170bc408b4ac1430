import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import LogCache
import LogCacheRedis
import LogCacheProxy
import Logging
import NIOSSL

/// `logcache-proxy --store DIR --upstream URL`: a caching proxy for OpenAI-compatible APIs.
@main
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logcache-proxy",
        abstract: "A caching proxy for OpenAI-compatible APIs, answering repeated requests from a LogCache store.",
        discussion: """
            POSTs to the endpoints whose answer is a function of the body (/v1/chat/completions, \
            /v1/completions, /v1/embeddings, /v1/responses, /v1/moderations, and the prefixes given \
            with --cache-path) are answered from the store when the same request was answered \
            before; 2xx answers are stored. The key is the method, the path and the canonical JSON \
            of the body; Authorization and other headers are not part of it unless named with \
            --key-header. Everything else is forwarded as it is. Per request: Cache-Control \
            no-cache (refresh), no-store (bypass), max-age=N; X-LogCache-TTL: N; \
            X-LogCache-Namespace: NAME. Every answer carries X-LogCache: hit, miss or bypass. \
            GET /logcache/stats gives the counters as JSON, GET /metrics in Prometheus's format.

            Examples:
              logcache-proxy --store /var/cache/llm --upstream https://api.openai.com
              OPENAI_BASE_URL=http://127.0.0.1:8787/v1 python job.py
              logcache-proxy --store /tmp/c --upstream http://127.0.0.1:8000 --listen 127.0.0.1:9000 --ttl 86400
              logcache-proxy --store /tmp/c --upstream https://llm.internal:8443 --upstream-ca internal-ca.pem
              logcache-proxy --store /var/cache/llm --upstream https://api.openai.com --redis redis://cache-host:6379/0
            """
    )

    @Option(help: "The store directory (created when missing).")
    var store: String

    @Option(help: "The upstream's base URL, such as https://api.openai.com.")
    var upstream: String

    @Option(help: "Address and port to listen on; port 0 picks a free one (printed at start).")
    var listen = "127.0.0.1:8787"

    @Option(help: "Seconds a new answer is kept (default: the store's default TTL, if any).")
    var ttl: Int?

    @Option(help: "The namespace of the proxy's keys.")
    var namespace = "proxy"

    @Option(name: .customLong("key-header"), help: "A request header whose value is part of the key (repeatable).")
    var keyHeaders: [String] = []

    @Option(name: .customLong("cache-path"), help: "Also cache POSTs to paths with this prefix (repeatable).")
    var cachePaths: [String] = []

    @Option(name: .customLong("max-body"), help: "Request bodies larger than this many bytes are forwarded uncached.")
    var maxBody = 10 << 20

    @Option(name: .customLong("upstream-timeout"), help: "Seconds an upstream call may take.")
    var upstreamTimeout = 600

    @Flag(name: .customLong("allow-insecure-upstream"), help: "Allow a plain http:// upstream that is not on loopback.")
    var allowInsecureUpstream = false

    @Option(name: .customLong("upstream-ca"), help: "Trust the CA certificates in this PEM file for the upstream's TLS (instead of the system's).")
    var upstreamCA: String?

    @Option(help: ArgumentHelp("A shared tier behind the store, for proxies on several machines: redis://[user:password@]host:port/db or unix:///path (default: $LOGCACHE_REDIS_URL).",
                               valueName: "url"))
    var redis: String?

    @Option(name: .customLong("redis-prefix"), help: "The key prefix of the shared tier in Redis.")
    var redisPrefix = "logcache:"

    func run() async throws {
        let upstream: String
        do {
            upstream = try ProxyOptions.checkUpstream(self.upstream, allowInsecure: allowInsecureUpstream)
        } catch {
            throw ValidationError("\(error)")
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else { throw ValidationError("--listen \(listen) is not HOST:PORT") }
        let host = String(listen[..<colon])
        guard maxBody >= 0 else { throw ValidationError("--max-body must not be negative") }
        if let ttl, ttl <= 0 { throw ValidationError("--ttl must be a positive number of seconds") }
        guard (1...604_800).contains(upstreamTimeout) else {
            throw ValidationError("--upstream-timeout must be 1 to 604800 seconds (a week), not \(upstreamTimeout)")
        }
        let options = ProxyOptions(store: store, upstream: upstream, host: host, port: port, ttl: ttl, namespace: namespace,
                                   keyHeaders: keyHeaders, cachePaths: cachePaths, maxBody: maxBody, upstreamTimeout: upstreamTimeout)
        do { try MemoKey.check(namespace: namespace) } catch { throw ValidationError("--namespace: \(error)") }

        LoggingSystem.bootstrap { label in BufferedLogHandler(label: label) }
        let logger = Logger(label: "logcache-proxy")
        let cache = try CacheStore(directory: store)
        var shared: SharedCache?
        let environment = ProcessInfo.processInfo.environment
        if let url = redis ?? environment["LOGCACHE_REDIS_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                var tier = try SharedTierOptions(url: url)
                tier.keyPrefix = redisPrefix
                tier.logger = logger
                // Answers are stored from the server's tasks: a Redis that hangs must not hold
                // them, so shared writes go through the background queue.
                tier.writeMode = .background(queueLimit: 10_000)
                if let secret = environment["LOGCACHE_REDIS_SECRET"], !secret.isEmpty { tier.secret = Array(secret.utf8) }
                shared = try SharedCache(local: cache, options: tier)
            } catch {
                throw ValidationError("--redis: \(error)")
            }
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let upstreamCA {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(upstreamCA))
            } catch {
                throw ValidationError("--upstream-ca \(upstreamCA): not a readable PEM file of certificates (\(error))")
            }
        }
        var clientConfiguration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                           decompression: .disabled)
        // An upstream that refuses connections is a 502 at once, not after the client's own
        // retries with a growing backoff: the caller's client has a retry policy of its own,
        // and a request after the upstream's return must not wait for a backoff timer.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let proxy = CachingProxy(options: options, store: cache, shared: shared, client: client, logger: logger)
        let app = Application(
            responder: CallbackResponder { (request: Request, context: BasicRequestContext) in await proxy.respond(to: request, context: context) },
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? listen
                // Written at once, unbuffered: whoever started the proxy waits for this line.
                FileHandle.standardOutput.write(Data("logcache-proxy listening on \(address), forwarding to \(upstream), store \(cache.directory)\n".utf8))
            },
            logger: logger
        )
        do {
            try await app.runService()
        } catch {
            try? await client.shutdown()
            shared?.close()
            try? cache.close()
            LogOutput.standardOutput.flush()
            throw error
        }
        try? await client.shutdown()
        shared?.close()
        LogOutput.standardOutput.flush()
        try cache.close()
    }
}
