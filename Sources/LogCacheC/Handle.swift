#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// What a `logcache_t *` points at: the store, kept alive until `logcache_release`.
final class Handle {
    let store: CacheStore

    init(_ store: CacheStore) { self.store = store }

    /// The handle behind a pointer the caller passed; refused when it is NULL.
    static func from(_ pointer: OpaquePointer?) throws -> Handle {
        guard let pointer else { throw Failure(.invalidArgument, "the store handle is NULL") }
        return Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// `logcache_options_t`, read field by field at the offsets of its C layout (include/logcache.h):
/// the fields a caller's `size` covers, the rest at their defaults.
enum OptionsLayout {
    static let size = 64
    static let capacity = 8, maxEntries = 16, policy = 24, compression = 32, zstdLevel = 40, defaultTTL = 48, durability = 56

    /// The options at `pointer` as ``Options``.
    static func read(_ pointer: UnsafeRawPointer) throws -> Options {
        let given = Int(pointer.loadUnaligned(as: UInt32.self))
        guard given >= 8 else { throw Failure(.invalidArgument, "options.size is \(given): call logcache_options_init first") }
        func has(_ offset: Int, _ width: Int) -> Bool { offset + width <= given }
        func i64(_ offset: Int) -> Int64 { has(offset, 8) ? pointer.loadUnaligned(fromByteOffset: offset, as: Int64.self) : 0 }
        func string(_ offset: Int) -> String? {
            guard has(offset, 8), let p = pointer.loadUnaligned(fromByteOffset: offset, as: UnsafePointer<CChar>?.self) else { return nil }
            // Invalid UTF-8 reads as a name no option has, which is refused below.
            return String(validatingCString: p) ?? "\u{FFFD}"
        }
        var options = Options()
        let capacity = i64(Self.capacity), maxEntries = i64(Self.maxEntries), ttl = i64(Self.defaultTTL)
        guard capacity >= 0 else { throw Failure(.invalidArgument, "capacity \(capacity) is negative") }
        guard maxEntries >= 0 else { throw Failure(.invalidArgument, "max_entries \(maxEntries) is negative") }
        guard ttl >= 0 else { throw Failure(.invalidArgument, "default_ttl_ms \(ttl) is negative") }
        options.capacity = capacity == 0 ? nil : Int(capacity)
        options.maxEntries = maxEntries == 0 ? nil : Int(maxEntries)
        options.defaultTTL = ttl == 0 ? nil : .milliseconds(ttl)
        if let name = string(policy) {
            guard let kind = PolicyKind(name: name) else {
                throw Failure(.invalidArgument, "policy \"\(name)\" is unknown; one of \(PolicyKind.allCases.map(\.description).joined(separator: ", "))")
            }
            options.policy = kind
        }
        let level = has(zstdLevel, 4) ? Int(pointer.loadUnaligned(fromByteOffset: zstdLevel, as: Int32.self)) : 0
        switch string(compression) ?? "zstd" {
        case "zstd": options.compression = level == 0 ? .zstd : .zstd(level: level)
        case "lz4": options.compression = .lz4
        case "none": options.compression = .none
        case let other: throw Failure(.invalidArgument, "compression \"\(other)\" is unknown; zstd, lz4 or none")
        }
        if let text = string(durability) {
            options.durability = try Self.durability(text)
        }
        return options
    }

    private static func durability(_ text: String) throws -> Durability {
        switch text {
        case "none": return .none
        case "sync": return .syncEveryWrite
        default:
            if text.hasPrefix("interval:"), let ms = Int64(text.dropFirst("interval:".count)), ms > 0 {
                return .syncInterval(.milliseconds(ms))
            }
            throw Failure(.invalidArgument, "durability \"\(text)\" is unknown; none, sync or interval:MILLISECONDS")
        }
    }
}

@_cdecl("logcache_options_init")
public func logcache_options_init(_ options: UnsafeMutableRawPointer?) {
    guard let options else { return }
    options.initializeMemory(as: UInt8.self, repeating: 0, count: OptionsLayout.size)
    options.storeBytes(of: UInt32(OptionsLayout.size), as: UInt32.self)
}

@_cdecl("logcache_open")
public func logcache_open(_ directory: UnsafePointer<CChar>?, _ options: UnsafeRawPointer?,
                          _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded {
        guard let out else { throw Failure(.invalidArgument, "the pointer for the handle is NULL") }
        out.pointee = nil
        let path = try text(directory, "directory")
        let opened = try CacheStore(directory: path, options: try options.map(OptionsLayout.read) ?? Options())
        out.pointee = OpaquePointer(Unmanaged.passRetained(Handle(opened)).toOpaque())
        return .ok
    }
}

@_cdecl("logcache_close")
public func logcache_close(_ store: OpaquePointer?) -> Int32 {
    guarded {
        try Handle.from(store).store.close()
        return .ok
    }
}

@_cdecl("logcache_release")
public func logcache_release(_ store: OpaquePointer?) {
    guard let store else { return }
    let handle = Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(store))
    try? handle.takeUnretainedValue().store.close()
    handle.release()
}
