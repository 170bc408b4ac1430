#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LogCache

@_cdecl("logcache_get")
public func logcache_get(_ store: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int,
                         _ buffer: UnsafeMutableRawPointer?, _ capacity: Int,
                         _ length: UnsafeMutablePointer<Int>?, _ type: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        guard let length else { throw Failure(.invalidArgument, "the pointer for the length is NULL") }
        let k = try bytes(key, keyLength, "key")
        let room = try count(capacity, "buffer capacity")
        let found = try handle.store.withTypedValue(forKey: k) { t, value -> Status in
            length.pointee = value.count
            type?.pointee = t.rawValue
            guard value.count <= room else { return .bufferTooSmall }
            if let base = value.baseAddress, !value.isEmpty {
                guard let buffer else { return .bufferTooSmall }
                buffer.copyMemory(from: base, byteCount: value.count)
            }
            return .ok
        }
        return found ?? .notFound
    }
}

@_cdecl("logcache_get_alloc")
public func logcache_get_alloc(_ store: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int,
                               _ value: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                               _ length: UnsafeMutablePointer<Int>?, _ type: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        guard let value, let length else { throw Failure(.invalidArgument, "the pointer for the value or its length is NULL") }
        value.pointee = nil
        let k = try bytes(key, keyLength, "key")
        let copied = try handle.store.withTypedValue(forKey: k) { t, bytes -> Result<UnsafeMutableRawPointer, any Error> in
            length.pointee = bytes.count
            type?.pointee = t.rawValue
            return Result { try mallocCopy(bytes) }
        }
        guard let copied else { return .notFound }
        value.pointee = try copied.get()
        return .ok
    }
}

@_cdecl("logcache_set")
public func logcache_set(_ store: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int,
                         _ value: UnsafeRawPointer?, _ valueLength: Int, _ type: UInt8, _ ttlMilliseconds: Int64) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        try handle.store.set(try bytes(value, valueLength, "value"), forKey: try bytes(key, keyLength, "key"),
                             type: try valueType(type), ttl: try ttl(milliseconds: ttlMilliseconds))
        return .ok
    }
}

@_cdecl("logcache_delete")
public func logcache_delete(_ store: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int,
                            _ removed: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        let k = try bytes(key, keyLength, "key")
        let was = try handle.store.removeValue(forKey: [UInt8](k))
        removed?.pointee = was ? 1 : 0
        return .ok
    }
}

@_cdecl("logcache_contains")
public func logcache_contains(_ store: OpaquePointer?, _ key: UnsafeRawPointer?, _ keyLength: Int) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        let found = try handle.store.withTypedValue(forKey: try bytes(key, keyLength, "key")) { _, _ in true }
        return found == true ? .ok : .notFound
    }
}

/// The `count` keys of a batch call, copied.
private func keyList(_ count: Int, _ keys: UnsafePointer<UnsafeRawPointer?>?, _ lengths: UnsafePointer<Int>?) throws -> [[UInt8]] {
    guard count > 0 else { return [] }
    guard let keys, let lengths else { throw Failure(.invalidArgument, "the keys or their lengths are NULL") }
    return try (0..<count).map { i in [UInt8](try bytes(keys[i], lengths[i], "key \(i)")) }
}

@_cdecl("logcache_get_many")
public func logcache_get_many(_ store: OpaquePointer?, _ n: Int, _ keys: UnsafePointer<UnsafeRawPointer?>?,
                              _ keyLengths: UnsafePointer<Int>?, _ values: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                              _ lengths: UnsafeMutablePointer<Int>?, _ types: UnsafeMutablePointer<UInt8>?,
                              _ found: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        let n = try count(n, "count")
        if n > 0 { guard values != nil, lengths != nil else { throw Failure(.invalidArgument, "values or lengths is NULL") } }
        let list = try keyList(n, keys, keyLengths)
        guard let values, let lengths else {
            found?.pointee = 0
            return .ok
        }
        for i in 0..<n {
            values[i] = nil
            lengths[i] = 0
        }
        var failure: (any Error)?
        var hits = 0
        do {
            hits = try handle.store.forEachTypedValue(forKeys: list) { i, type, bytes in
                guard failure == nil else { return }
                do {
                    values[i] = try mallocCopy(bytes)
                    lengths[i] = bytes.count
                    types?[i] = type.rawValue
                } catch {
                    failure = error
                }
            }
        } catch {
            failure = error
        }
        if let failure {
            // Nothing allocated is left to the caller when the call fails.
            for i in 0..<n { free(values[i]); values[i] = nil; lengths[i] = 0 }
            throw failure
        }
        found?.pointee = hits
        return .ok
    }
}

@_cdecl("logcache_set_many")
public func logcache_set_many(_ store: OpaquePointer?, _ n: Int, _ keys: UnsafePointer<UnsafeRawPointer?>?,
                              _ keyLengths: UnsafePointer<Int>?, _ values: UnsafePointer<UnsafeRawPointer?>?,
                              _ valueLengths: UnsafePointer<Int>?, _ types: UnsafePointer<UInt8>?, _ ttlMilliseconds: Int64) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        let n = try count(n, "count")
        let list = try keyList(n, keys, keyLengths)
        if n > 0 { guard values != nil, valueLengths != nil else { throw Failure(.invalidArgument, "the values or their lengths are NULL") } }
        var batch: [(key: [UInt8], value: [UInt8], type: ValueType)] = []
        batch.reserveCapacity(n)
        for i in 0..<n {
            let value = [UInt8](try bytes(values?[i], valueLengths?[i] ?? 0, "value \(i)"))
            batch.append((list[i], value, try valueType(types?[i] ?? 0)))
        }
        try handle.store.setValues(batch, ttl: try ttl(milliseconds: ttlMilliseconds))
        return .ok
    }
}

@_cdecl("logcache_clear")
public func logcache_clear(_ store: OpaquePointer?, _ removed: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let n = try Handle.from(store).store.removeAll()
        removed?.pointee = UInt64(n)
        return .ok
    }
}

@_cdecl("logcache_count")
public func logcache_count(_ store: OpaquePointer?, _ entries: UnsafeMutablePointer<UInt64>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        guard let entries else { throw Failure(.invalidArgument, "the pointer for the count is NULL") }
        entries.pointee = UInt64(try handle.store.liveEntryCount())
        return .ok
    }
}

/// `value` as JSON text in memory from `malloc`.
private func mallocJSON<T: Encodable>(_ value: T) throws -> UnsafeMutablePointer<CChar> {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    return try data.withUnsafeBytes { try mallocCopy($0) }.assumingMemoryBound(to: CChar.self)
}

@_cdecl("logcache_stats_json")
public func logcache_stats_json(_ store: OpaquePointer?, _ json: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        guard let json else { throw Failure(.invalidArgument, "the pointer for the JSON is NULL") }
        json.pointee = try mallocJSON(handle.store.statistics)
        return .ok
    }
}

@_cdecl("logcache_check")
public func logcache_check(_ directory: UnsafePointer<CChar>?, _ repair: Int32,
                           _ report: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guarded {
        guard let report else { throw Failure(.invalidArgument, "the pointer for the report is NULL") }
        report.pointee = nil
        let result = try StoreCheck.run(directory: try text(directory, "directory"), repair: repair != 0)
        report.pointee = try mallocJSON(result)
        return .ok
    }
}
