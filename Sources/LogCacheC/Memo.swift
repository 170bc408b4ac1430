#if canImport(Glibc)
import Glibc
#endif
import LogCache

/// What a `logcache_memo_t *` points at: a memo key's lock, held while the caller computes.
final class MemoHold {
    let key: MemoKey
    let lock: MemoLock
    let started = ContinuousClock.now

    init(key: MemoKey, lock: MemoLock) {
        self.key = key
        self.lock = lock
    }

    /// Takes back the hold the caller was given: it is released when the last reference goes.
    static func take(_ pointer: OpaquePointer?) throws -> MemoHold {
        guard let pointer else { throw Failure(.invalidArgument, "the memo lock is NULL") }
        return Unmanaged<MemoHold>.fromOpaque(UnsafeRawPointer(pointer)).takeRetainedValue()
    }
}

/// A memo key given by its store key (`memo/NAMESPACE/VERSION/HASH`).
private func memoKey(_ pointer: UnsafePointer<CChar>?) throws -> MemoKey {
    let text = try text(pointer, "memo key")
    guard let key = MemoKey(storeKey: text) else {
        throw Failure(.invalidRequest, "\"\(text)\" is not a memo key (memo/NAMESPACE/VERSION/HASH, from logcache_memo_key)")
    }
    return key
}

@_cdecl("logcache_memo_key")
public func logcache_memo_key(_ namespace: UnsafePointer<CChar>?, _ version: UnsafePointer<CChar>?,
                              _ request: UnsafePointer<CChar>?, _ requestLength: Int,
                              _ out: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> Int32 {
    guarded {
        let ns = try text(namespace, "namespace"), v = try text(version, "version")
        let json = try bytes(UnsafeRawPointer(request), requestLength, "request")
        guard let out else { throw Failure(.invalidArgument, "the buffer for the key is NULL") }
        let value: JSONValue
        do {
            value = try JSONValue(json: json)
        } catch {
            throw Failure(.invalidRequest, "the request is not JSON: \(error)")
        }
        let key = try MemoKey(namespace: ns, version: v, request: value).storeKey
        let utf8 = Array(key.utf8)
        guard utf8.count < (try count(capacity, "capacity")) else {
            throw Failure(.invalidArgument, "the key needs \(utf8.count + 1) bytes; the buffer has \(capacity)")
        }
        utf8.withUnsafeBytes { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress!, byteCount: utf8.count) }
        out[utf8.count] = 0
        return .ok
    }
}

/// Hands a stored result to the caller; a cached failure is thrown as one.
private func deliver(_ result: MemoizedResult, _ entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                     _ length: UnsafeMutablePointer<Int>?) throws -> Status {
    switch result {
    case .value(let json, _):
        entry.pointee = try json.withUnsafeBytes { try mallocCopy($0) }.assumingMemoryBound(to: CChar.self)
        length?.pointee = json.count
        return .ok
    case .failure(let message, _):
        throw Failure(.cachedFailure, message)
    }
}

@_cdecl("logcache_memo_begin")
public func logcache_memo_begin(_ store: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ wait: Int32,
                                _ lock: UnsafeMutablePointer<OpaquePointer?>?,
                                _ entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                                _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded {
        let handle = try Handle.from(store)
        guard let lock, let entry else { throw Failure(.invalidArgument, "the pointer for the lock or the result is NULL") }
        lock.pointee = nil
        entry.pointee = nil
        let key = try memoKey(key)
        if let stored = try handle.store.memoizedResult(for: key) { return try deliver(stored, entry, length) }
        let held: MemoLock
        if wait != 0 {
            held = try MemoLock.acquire(storeDirectory: handle.store.directory, key: key)
        } else {
            guard let free = try MemoLock.tryAcquire(storeDirectory: handle.store.directory, key: key) else { return .busy }
            held = free
        }
        // Another caller may have computed the key while this one waited for the lock.
        if let stored = try handle.store.memoizedResult(for: key) {
            held.release()
            return try deliver(stored, entry, length)
        }
        lock.pointee = OpaquePointer(Unmanaged.passRetained(MemoHold(key: key, lock: held)).toOpaque())
        return .ok
    }
}

@_cdecl("logcache_memo_finish")
public func logcache_memo_finish(_ store: OpaquePointer?, _ lock: OpaquePointer?, _ result: UnsafePointer<CChar>?,
                                 _ resultLength: Int, _ computeMicroseconds: Int64, _ ttlMilliseconds: Int64) -> Int32 {
    guarded {
        let hold = try MemoHold.take(lock)
        defer { hold.lock.release() }
        let handle = try Handle.from(store)
        let json = [UInt8](try bytes(UnsafeRawPointer(result), resultLength, "result"))
        try handle.store.storeMemoizedResult(json: json, for: hold.key, computeTime: elapsed(computeMicroseconds, hold),
                                             ttl: try ttl(milliseconds: ttlMilliseconds))
        return .ok
    }
}

@_cdecl("logcache_memo_abandon")
public func logcache_memo_abandon(_ store: OpaquePointer?, _ lock: OpaquePointer?, _ computeMicroseconds: Int64) -> Int32 {
    guarded {
        let hold = try MemoHold.take(lock)
        hold.lock.release()
        if let store { try Handle.from(store).store.countMemoizedFailure(for: hold.key, computeTime: elapsed(computeMicroseconds, hold)) }
        return .ok
    }
}

/// The time a computation took: as the caller measured it, or when it passes a negative
/// number, since the lock was taken.
private func elapsed(_ microseconds: Int64, _ hold: MemoHold) -> Duration {
    microseconds >= 0 ? .microseconds(microseconds) : ContinuousClock.now - hold.started
}
