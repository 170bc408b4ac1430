/// Borrowing the bytes of arrays and strings while keeping typed throws: the standard
/// library's `withUnsafeBytes` rethrows untyped errors, which would erase ``CacheError``.
@inline(__always)
func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeBytes { b in
        do throws(E) { return .success(try body(b)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// Runs `body` with the bytes of a slice, keeping `body`'s error type (as the array form does).
@inline(__always)
func withBytes<R, E: Error>(_ slice: ArraySlice<UInt8>, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = slice.withUnsafeBytes { b in
        do throws(E) { return .success(try body(b)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// Runs `body` with the UTF-8 bytes of `key`, without copying a native string.
@inline(__always)
func withBytes<R, E: Error>(_ string: String, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    var s = string
    let result: Result<R, E> = s.withUTF8 { u in
        do throws(E) { return .success(try body(UnsafeRawBufferPointer(u))) } catch { return .failure(error) }
    }
    return try result.get()
}
