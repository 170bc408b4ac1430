#if canImport(Glibc)
import Glibc
#endif

/// Reusable buffers that values are decompressed into when a caller only borrows them
/// (``CacheStore/withValue(forKey:_:)-(String,_)``, ``CacheStore/forEachValue(forKeys:_:)``).
///
/// A fresh buffer for every read of a large value costs more than the copy it replaces: glibc
/// hands allocations of 128 KiB and more out as new mappings, whose pages the kernel faults
/// in and zeroes one by one. Each thread keeps one buffer of its own instead (no lock on the
/// way: a get of a small value must not pay for one), freed when the thread ends; a read
/// nested inside another's closure on the same thread gets a buffer of its own.
enum ScratchBuffers {
    /// A thread's buffer, larger ones than this are freed after use rather than kept.
    static let largestKept = 32 << 20

    /// A thread's buffer: its memory and whether a read is using it now.
    private struct Slot {
        var memory: UnsafeMutableRawBufferPointer
        var inUse: Bool
    }

    /// The key of each thread's slot; the destructor frees it when the thread ends.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { raw in
            guard let slot = raw?.assumingMemoryBound(to: Slot.self) else { return }
            slot.pointee.memory.deallocate()
            slot.deinitialize(count: 1)
            slot.deallocate()
        }
        return key
    }()

    /// Runs `body` with a buffer of at least `count` bytes, uninitialized, valid only inside.
    static func with<R>(count: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        let slot: UnsafeMutablePointer<Slot>
        if let raw = pthread_getspecific(key) {
            slot = raw.assumingMemoryBound(to: Slot.self)
        } else {
            slot = .allocate(capacity: 1)
            slot.initialize(to: Slot(memory: UnsafeMutableRawBufferPointer(start: nil, count: 0), inUse: false))
            pthread_setspecific(key, slot)
        }
        guard !slot.pointee.inUse else {
            // A read inside another read's closure: a buffer for this one alone.
            let own = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count), alignment: 16)
            defer { own.deallocate() }
            return body(own)
        }
        if slot.pointee.memory.count < count {
            slot.pointee.memory.deallocate()
            // Rounded up to 64 KiB, so that values of similar sizes reuse one buffer.
            slot.pointee.memory = .allocate(byteCount: (count + 0xFFFF) & ~0xFFFF, alignment: 16)
        }
        slot.pointee.inUse = true
        defer {
            slot.pointee.inUse = false
            if slot.pointee.memory.count > largestKept {
                slot.pointee.memory.deallocate()
                slot.pointee.memory = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            }
        }
        return body(slot.pointee.memory)
    }
}
