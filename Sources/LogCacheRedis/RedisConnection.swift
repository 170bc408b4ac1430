import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// One connection to Redis: a hiredis context, used by one thread at a time (hiredis
/// contexts are not thread-safe; ``ConnectionPool`` hands each one to one caller).
///
/// Every failure of the connection itself (refused, reset, timed out, a reply that does not
/// parse) throws ``SharedTierError/unavailable(_:)``, after which the connection is not used
/// again: hiredis leaves a context in an unknown state after an I/O error.
final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects, sets the command timeout, and logs in and selects the database the URL names.
    init(url: RedisURL, connectTimeout: Duration, commandTimeout: Duration) throws(SharedTierError) {
        var old = sigset_t()
        logcache_block_sigpipe(&old)
        defer { logcache_restore_sigpipe(&old) }
        let connect = Self.timeval(connectTimeout)
        let made: UnsafeMutablePointer<redisContext>? = switch url.endpoint {
        case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), connect)
        case .unix(let path): redisConnectUnixWithTimeout(path, connect)
        }
        guard let made else { throw .unavailable("cannot allocate a connection to \(url)") }
        if made.pointee.err != 0 {
            let message = Self.errorText(made)
            redisFree(made)
            throw .unavailable("cannot connect to \(url): \(message)")
        }
        context = made
        guard redisSetTimeout(made, Self.timeval(commandTimeout)) == REDIS_OK else {
            throw .unavailable("cannot set the command timeout on the connection to \(url)")
        }
        if let password = url.password {
            let args = url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            if case .error(let message) = try unprotectedCommand(args.map { Array($0.utf8) }) {
                throw .unavailable("Redis at \(url) refused the login: \(message)")
            }
        }
        if url.database != 0 {
            if case .error(let message) = try unprotectedCommand([Array("SELECT".utf8), Array(String(url.database).utf8)]) {
                throw .unavailable("Redis at \(url) refused database \(url.database): \(message)")
            }
        }
    }

    deinit { redisFree(context) }

    /// Sends one command and reads its reply. An error reply is returned, not thrown.
    func command(_ args: [[UInt8]]) throws(SharedTierError) -> RedisReply {
        var old = sigset_t()
        logcache_block_sigpipe(&old)
        defer { logcache_restore_sigpipe(&old) }
        return try unprotectedCommand(args)
    }

    /// Sends several commands in one write and reads their replies in order: one round trip.
    func pipeline(_ commands: [[[UInt8]]]) throws(SharedTierError) -> [RedisReply] {
        var old = sigset_t()
        logcache_block_sigpipe(&old)
        defer { logcache_restore_sigpipe(&old) }
        for args in commands {
            let status = Self.withArgv(args) { argc, argv, lengths in redisAppendCommandArgv(context, argc, argv, lengths) }
            guard status == REDIS_OK else { throw .unavailable("cannot queue a command: \(Self.errorText(context))") }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw .unavailable(Self.errorText(context))
            }
            defer { freeReplyObject(raw) }
            replies.append(try Self.copy(raw.assumingMemoryBound(to: redisReply.self)))
        }
        return replies
    }

    private func unprotectedCommand(_ args: [[UInt8]]) throws(SharedTierError) -> RedisReply {
        let raw = Self.withArgv(args) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        guard let raw else { throw .unavailable(Self.errorText(context)) }
        defer { freeReplyObject(raw) }
        return try Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Calls `body` with C views of `args`, which stay valid for the call only.
    private static func withArgv<R>(_ args: [[UInt8]],
                                    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        // One buffer holds every argument; the pointers point into it.
        var joined: [UInt8] = []
        joined.reserveCapacity(args.reduce(0) { $0 + $1.count } + 1)
        var offsets: [Int] = []
        offsets.reserveCapacity(args.count)
        for a in args {
            offsets.append(joined.count)
            joined.append(contentsOf: a)
        }
        joined.append(0)
        let lengths = args.map(\.count)
        return joined.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return argv.withUnsafeMutableBufferPointer { v in
                lengths.withUnsafeBufferPointer { l in body(Int32(args.count), v.baseAddress!, l.baseAddress!) }
            }
        }
    }

    /// The reply copied into Swift values; hiredis frees its own right after.
    private static func copy(_ reply: UnsafeMutablePointer<redisReply>, depth: Int = 0) throws(SharedTierError) -> RedisReply {
        let r = reply.pointee
        func text() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: r.len))
        }
        switch r.type {
        case REDIS_REPLY_STRING: return .string(text())
        case REDIS_REPLY_STATUS: return .status(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(r.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            guard depth < 8 else { throw .unavailable("a reply nested deeper than 8 arrays") }
            var items: [RedisReply] = []
            items.reserveCapacity(r.elements)
            for i in 0..<r.elements {
                guard let item = r.element?[i] else { items.append(.null); continue }
                items.append(try copy(item, depth: depth + 1))
            }
            return .array(items)
        default:
            throw .unavailable("a reply of unknown type \(r.type)")
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if !text.isEmpty { return text }
        return context.pointee.err == REDIS_ERR_EOF ? "the server closed the connection" : "error \(context.pointee.err)"
    }

    private static func timeval(_ d: Duration) -> Glibc.timeval {
        let (s, atto) = d.components
        return Glibc.timeval(tv_sec: Int(max(0, s)), tv_usec: Int(max(0, atto / 1_000_000_000_000)))
    }
}
