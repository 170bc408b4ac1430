import Foundation
import LogCache
import Synchronization

/// What decides a cached response: the method, the path with its query, the body (its
/// canonical JSON when it is JSON, else its bytes), and the values of the headers named with
/// `--key-header`. `Authorization` and every other header are left out, so that one cache
/// serves a team whatever their keys.
struct RequestIdentity {
    var method: String
    var path: String
    /// The body when it is JSON: encoded canonically, so member order, whitespace and number
    /// spelling do not change the key.
    var json: JSONValue?
    /// The body's bytes in base64 when it is not JSON.
    var raw: String?
    /// The `--key-header` headers by lowercased name; absent ones are left out.
    var headers: [String: String]

    /// The memo key of the identity in `namespace` (version 1 of the proxy's keys), so that
    /// `cachectl namespaces` lists the proxy's entries and memo locks give single flight.
    /// It is made from the identity as a JSON value, the members this type would encode
    /// (`raw` or `json`, whichever it has), which gives the same key without a Codable pass.
    func key(namespace: String) throws -> MemoKey {
        var members: [String: JSONValue] = [
            "method": .string(method), "path": .string(path), "headers": .object(headers.mapValues { .string($0) }),
        ]
        if let json { members["json"] = json }
        if let raw { members["raw"] = .string(raw) }
        return try MemoKey(namespace: namespace, version: "1", json: .object(members))
    }

    /// The identity of a request.
    static func of(method: String, path: String, body: [UInt8], headers: [String: String]) -> RequestIdentity {
        let json = body.withUnsafeBytes { try? JSONValue(json: $0) }
        return RequestIdentity(method: method, path: path, json: json,
                               raw: json == nil ? Data(body).base64EncodedString() : nil, headers: headers)
    }
}

/// The per-request controls, from `Cache-Control` (RFC 9111's request directives) and the
/// proxy's own headers.
struct RequestControls: Equatable {
    /// `no-cache`: fetch and replace, whatever is stored.
    var refresh = false
    /// `no-store`: neither read nor write the store.
    var bypass = false
    /// `max-age=N`: a stored response older than N seconds is refreshed.
    var maxAge: Int?
    /// `X-LogCache-TTL: N`: seconds a new response is kept.
    var ttl: Int?
    /// `X-LogCache-Namespace`.
    var namespace: String?

    /// The largest age a `max-age` is taken to mean (RFC 9111, section 1.2.2).
    static let largestAge = 2_147_483_648

    /// The controls of a request's `Cache-Control`, `X-LogCache-TTL` and `X-LogCache-Namespace`
    /// values; a malformed TTL is reported, never guessed.
    static func parse(cacheControl: [String], ttl: String?, namespace: String?) throws(ProxyError) -> RequestControls {
        var c = RequestControls()
        for directive in cacheControl.flatMap({ $0.split(separator: ",") }) {
            let d = directive.trimmingCharacters(in: .whitespaces).lowercased()
            if d == "no-cache" { c.refresh = true }
            else if d == "no-store" { c.bypass = true }
            else if d.hasPrefix("max-age=") {
                let digits = d.dropFirst("max-age=".count)
                guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
                    throw .badRequest("Cache-Control max-age must be a number of seconds, not \"\(directive)\"")
                }
                // RFC 9111: a delta-seconds too large to hold is taken as 2^31 seconds.
                c.maxAge = Int(digits).map { min($0, Self.largestAge) } ?? Self.largestAge
            }
        }
        if let ttl {
            guard let n = Int(ttl.trimmingCharacters(in: .whitespaces)), n > 0, n <= 315_360_000_00 else {
                throw .badRequest("X-LogCache-TTL must be a positive number of seconds, not \"\(ttl)\"")
            }
            c.ttl = n
        }
        if let namespace {
            do { try MemoKey.check(namespace: namespace) } catch {
                throw .badRequest("X-LogCache-Namespace: \(error)")
            }
            c.namespace = namespace
        }
        return c
    }
}

/// A request the proxy refuses, with the status and message the client gets.
enum ProxyError: Error {
    case badRequest(String)
}

/// The memo keys of recent requests, by what makes them: namespace, method, path and query,
/// key headers and the body's exact bytes. A repeated request, which is what a cache mostly
/// sees, then skips parsing its body, the canonical encoding and the SHA-256 (a tenth of a
/// hit's time under load). Two requests with the same bytes always have the same key, so a
/// cached key is never another request's; a body that differs only in member order or
/// spelling is keyed afresh and lands on the same key.
///
/// Bounded: bodies up to 64 KiB are kept, at most 4,096 of them and 32 MiB in all; when a
/// new one would pass either bound, the cache starts afresh (the keys are cheap to remake).
final class KeyCache: Sendable {
    struct Identity: Hashable, Sendable {
        var namespace: String
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]

        func hash(into hasher: inout Hasher) {
            hasher.combine(namespace)
            hasher.combine(method)
            hasher.combine(target)
            hasher.combine(headers)
            // In one piece: an array's own hashing feeds its bytes one at a time.
            body.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    static let largestBody = 64 << 10
    static let maxEntries = 4096
    static let maxBytes = 32 << 20

    private struct Table {
        var keys: [Identity: MemoKey] = [:]
        var bytes = 0
    }

    private let table = Mutex(Table())

    /// The key remembered for `identity`, or `make()`'s, remembered when the body is small enough.
    func key(for identity: Identity, make: () throws -> MemoKey) rethrows -> MemoKey {
        if let known = table.withLock({ $0.keys[identity] }) { return known }
        let key = try make()
        guard identity.body.count <= Self.largestBody else { return key }
        let cost = identity.body.count + identity.target.utf8.count + 64
        table.withLock { t in
            if t.keys.count >= Self.maxEntries || t.bytes + cost > Self.maxBytes {
                t.keys.removeAll()
                t.bytes = 0
            }
            if t.keys.updateValue(key, forKey: identity) == nil { t.bytes += cost }
        }
        return key
    }
}
