/// Reusable buffers that values are decompressed into when a caller only borrows them
/// (``CacheStore/withValue(forKey:_:)-(String,_)``, ``CacheStore/forEachValue(forKeys:_:)``).
///
/// A fresh buffer for every read of a large value costs more than the copy it replaces: glibc
/// hands allocations of 128 KiB and more out as new mappings, whose pages the kernel faults
/// in and zeroes one by one. A few buffers kept here are reused instead, each by one thread at
/// a time.
final class ScratchBuffers: Sendable {
    /// One buffer for the whole library: reads of any store share it.
    static let shared = ScratchBuffers()

    /// Buffers larger than this are freed after use rather than kept.
    static let largestKept = 32 << 20
    static let keptCount = 8

    private struct Buffer: @unchecked Sendable {
        let memory: UnsafeMutableRawBufferPointer
    }
    private let idle = Lock<[Buffer]>([])

    /// Runs `body` with a buffer of at least `count` bytes, uninitialized, valid only inside.
    func with<R>(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        let taken = idle.withLock { pool -> Buffer? in
            guard let i = pool.indices.last(where: { pool[$0].memory.count >= count }) ?? pool.indices.last else { return nil }
            return pool.remove(at: i)
        }
        let buffer: Buffer
        if let taken, taken.memory.count >= count {
            buffer = taken
        } else {
            taken?.memory.deallocate()
            // Rounded up to 64 KiB, so that values of similar sizes reuse one buffer.
            let size = max(1, (count + 0xFFFF) & ~0xFFFF)
            buffer = Buffer(memory: .allocate(byteCount: size, alignment: 16))
        }
        defer {
            let kept = buffer.memory.count <= Self.largestKept && idle.withLock { pool -> Bool in
                guard pool.count < Self.keptCount else { return false }
                pool.append(buffer)
                return true
            }
            if !kept { buffer.memory.deallocate() }
        }
        return body(buffer.memory)
    }
}
