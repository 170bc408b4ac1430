import Foundation
import Testing
@testable import LogCacheRedis

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` (Debian's package) on a free loopback port with its own temporary
/// directory, for the shared tier's tests; stopped by ``stop()``. tools/test installs the
/// package when it is missing.
final class RedisServer: @unchecked Sendable {
    let port: Int
    let directory = TemporaryDirectory("redis")
    private var process: Process?
    private let arguments: [String]

    /// The URL of the server.
    var url: String { "redis://127.0.0.1:\(port)/0" }

    /// A server started with `arguments` added to its command line.
    init(arguments: [String] = []) throws {
        port = try Self.freePort()
        self.arguments = arguments
        try start()
    }

    /// Starts the server (again, on the same port and directory) and waits until it answers.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.binary())
        p.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                       "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning"] + arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            // A server with a password answers PING with an error: it is up all the same.
            switch try? command(["PING"]) {
            case .status("PONG")?, .error?: return
            default: break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw Failure("redis-server on port \(port) did not answer within 10 s")
    }

    /// Kills the server at once (SIGKILL): what a crash or an out-of-memory kill does.
    func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Stops the server from answering (SIGSTOP) until ``resume()``: a server that hangs.
    func pause() { if let p = process { Glibc.kill(p.processIdentifier, SIGSTOP) } }

    /// Lets a paused server answer again.
    func resume() { if let p = process { Glibc.kill(p.processIdentifier, SIGCONT) } }

    /// Stops the server and removes its directory.
    func stop() {
        resume()
        kill()
        directory.cleanup()
    }

    /// One command on a connection of its own.
    func command(_ args: [String]) throws -> RedisReply {
        try rawCommand(args.map { Array($0.utf8) })
    }

    /// One command of byte arguments on a connection of its own.
    func rawCommand(_ args: [[UInt8]]) throws -> RedisReply {
        let c = try RedisConnection(url: try RedisURL(url), connectTimeout: .seconds(1), commandTimeout: .seconds(2))
        return try c.command(args)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    private static func binary() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] where FileManager.default.isExecutableFile(atPath: dir + "/redis-server") {
            return dir + "/redis-server"
        }
        throw Failure("redis-server is not installed (apt-get install redis-server; tools/test installs it)")
    }

    /// A port nothing listens on now: the kernel's choice for a socket bound to port 0.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure("getsockname: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
