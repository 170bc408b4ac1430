#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// The statuses of include/logcache.h (`logcache_status`); the values are the ABI.
enum Status: Int32 {
    case ok = 0
    case notFound = 1
    case bufferTooSmall = 2
    case busy = 3
    case invalidArgument = 10
    case invalidKey = 11
    case valueTooLarge = 12
    case closed = 13
    case notAStore = 14
    case corrupt = 15
    case incompatibleFormat = 16
    case locked = 17
    case io = 18
    case invalidRequest = 19
    case cachedFailure = 20
    case `internal` = 99
}

/// A failure that becomes a status and the thread's last error message.
struct Failure: Error {
    let status: Status
    let message: String

    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The status and message of any error the library throws.
    init(_ error: any Error) {
        switch error {
        case let failure as Failure:
            self = failure
        case let error as CacheError:
            self.init(Self.status(of: error), error.description)
        case let error as MemoError:
            switch error {
            case .cachedFailure(_, let message): self.init(.cachedFailure, message)
            default: self.init(.invalidRequest, error.description)
            }
        default:
            self.init(.internal, "\(error)")
        }
    }

    private static func status(of error: CacheError) -> Status {
        switch error {
        case .directoryUnavailable, .io: .io
        case .notADirectory, .notAStore: .notAStore
        case .incompatibleFormat: .incompatibleFormat
        case .corruptStore: .corrupt
        case .invalidKey: .invalidKey
        case .valueTooLarge, .exceedsCapacity: .valueTooLarge
        case .invalidOption, .networkFileSystem: .invalidArgument
        case .closed: .closed
        case .locked: .locked
        case .coding: .invalidRequest
        }
    }
}

/// The last error's message of each thread, kept in memory of its own so that the pointer
/// `logcache_last_error` returns stays valid until the thread's next call.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The destructor frees a thread's message when the thread ends.
        _ = pthread_key_create(&key) { free($0) }
        return key
    }()

    /// The empty message, for a thread with no error yet: a constant of the library's image.
    private static let empty: StaticString = ""

    static func set(_ message: String) {
        free(pthread_getspecific(key))
        _ = pthread_setspecific(key, strdup(message))
    }

    static func clear() {
        free(pthread_getspecific(key))
        _ = pthread_setspecific(key, nil)
    }

    static var current: UnsafePointer<CChar> {
        guard let p = pthread_getspecific(key) else {
            return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
        }
        return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
    }
}

/// Runs the body of an exported call: its status, with every error turned into one (and
/// its message kept as the thread's last error), so that nothing thrown crosses the ABI.
@inline(__always)
func guarded(_ body: () throws -> Status) -> Int32 {
    do {
        let status = try body()
        return status.rawValue
    } catch {
        let failure = Failure(error)
        LastError.set(failure.message)
        return failure.status.rawValue
    }
}

/// Copies `bytes` into memory from `malloc`, which the caller frees with `logcache_free`;
/// one byte more than asked for, holding a NUL, so that text can be used as a C string.
func mallocCopy(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeMutableRawPointer {
    guard let p = malloc(bytes.count + 1) else { throw Failure(.internal, "out of memory for \(bytes.count) bytes") }
    if let base = bytes.baseAddress, !bytes.isEmpty { p.copyMemory(from: base, byteCount: bytes.count) }
    p.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
    return p
}

/// The bytes at `pointer` (`count` of them); an empty buffer for a count of 0.
func bytes(_ pointer: UnsafeRawPointer?, _ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
    guard count >= 0 else { throw Failure(.invalidArgument, "\(what): length \(count) is negative") }
    if count == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
    guard let pointer else { throw Failure(.invalidArgument, "\(what) is NULL with a length of \(count)") }
    return UnsafeRawBufferPointer(start: pointer, count: count)
}

/// The text of a NUL-terminated string argument that must be given.
func text(_ pointer: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let pointer else { throw Failure(.invalidArgument, "\(what) is NULL") }
    // Validated, not repaired: a path whose bytes were replaced would name another directory.
    guard let text = String(validatingCString: pointer) else { throw Failure(.invalidArgument, "\(what) is not valid UTF-8") }
    return text
}

/// A `size_t` argument as an `Int`, refused when it does not fit.
func count(_ n: Int, _ what: String) throws -> Int {
    guard n >= 0 else { throw Failure(.invalidArgument, "\(what) of \(UInt(bitPattern: n)) is too large") }
    return n
}

/// A TTL argument in milliseconds: nil (the store's default) for 0.
func ttl(milliseconds: Int64) throws -> Duration? {
    guard milliseconds >= 0 else { throw Failure(.invalidArgument, "TTL of \(milliseconds) ms is negative") }
    return milliseconds == 0 ? nil : .milliseconds(milliseconds)
}

/// The value type a caller passed.
func valueType(_ raw: UInt8) throws -> ValueType {
    guard let type = ValueType(rawValue: raw) else { throw Failure(.invalidArgument, "value type \(raw) is unknown (0 to 3)") }
    return type
}

@_cdecl("logcache_abi_version")
public func logcache_abi_version() -> Int32 { 1 }

@_cdecl("logcache_last_error")
public func logcache_last_error() -> UnsafePointer<CChar> { LastError.current }

@_cdecl("logcache_free")
public func logcache_free(_ memory: UnsafeMutableRawPointer?) { free(memory) }
