import CLogCacheSupport
#if canImport(Glibc)
import Glibc
#endif

/// Two counters every process with the store open maps from the `SHARED` file, so that
/// "has anyone else changed the store?" costs one memory load on every read.
///
/// - `sequence` goes up after every append and every manifest change, once the change
///   is in the files;
/// - `generation` is the generation of the last manifest published, or of one about to be.
///
/// - from byte 64 to the end, one word per bucket of key hashes: the `sequence` of the last
///   change that wrote a key of the bucket (a value, a tombstone or an eviction record),
///   so that a reader can tell whether another process's changes touch the key it wants.
///
/// The counters are hints, never the truth: the files are. A process killed before it
/// bumps `sequence` leaves a change that the next bump (or the next append, which always
/// checks the active segment's length) brings to everyone.
final class SharedCounters: @unchecked Sendable {
    static let fileName = "SHARED"
    static let size = 4096
    static let magic: [UInt8] = Array("LCSHARED".utf8)

    private let file: File
    private let base: UnsafeMutableRawPointer

    /// Maps the file, creating or re-initialising it when it is missing, short or not one.
    /// Called with the append lock held, so no other process writes it meanwhile.
    init(directory: Directory) throws(CacheError) {
        let file = try File.open(directory.path(Self.fileName), flags: O_RDWR | O_CREAT)
        let header = try file.size() >= Self.size ? try file.read(count: 8, at: 0) : []
        if header != Self.magic {
            try file.truncate(to: 0)
            try file.truncate(to: Self.size)
            try file.write(Self.magic, at: 0)
        }
        guard let p = mmap(nil, Self.size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0), p != MAP_FAILED else {
            throw .io(operation: "mmap", path: file.path, errno: errno)
        }
        self.file = file
        base = p
    }

    deinit { munmap(base, Self.size) }

    private var sequenceWord: UnsafeMutablePointer<UInt64> { (base + 8).assumingMemoryBound(to: UInt64.self) }
    private var generationWord: UnsafeMutablePointer<UInt64> { (base + 16).assumingMemoryBound(to: UInt64.self) }

    private static let bucketsOffset = 64
    /// Buckets of key hashes: the rest of the page.
    static let bucketCount = (size - bucketsOffset) / 8

    private func bucketWord(_ keyHash: UInt64) -> UnsafeMutablePointer<UInt64> {
        // High bits: the index uses the low ones, so keys that collide there spread here.
        let bucket = Int((keyHash >> 32) % UInt64(Self.bucketCount))
        return (base + Self.bucketsOffset + 8 * bucket).assumingMemoryBound(to: UInt64.self)
    }

    /// The change counter.
    var sequence: UInt64 { logcache_atomic_load(sequenceWord) }

    /// The generation of the last manifest published.
    var generation: UInt64 { logcache_atomic_load(generationWord) }

    /// Says a manifest of `generation` is about to replace the current one. Set before the
    /// rename, so the hint is never behind the file: a process that dies in between leaves
    /// a hint that makes others read a manifest that has not changed, which costs a read.
    func intend(generation: UInt64) {
        logcache_atomic_store(generationWord, generation)
    }

    /// Announces changes that are already in the files, which wrote the keys `keyHashes`;
    /// returns the new sequence. Called only with the append lock held, so that one writer
    /// at a time marks buckets and their sequences only go up.
    @discardableResult
    func announce(keyHashes: [UInt64]) -> UInt64 {
        let sequence = logcache_atomic_add(sequenceWord, 1)
        for hash in keyHashes { logcache_atomic_store(bucketWord(hash), sequence) }
        return sequence
    }

    /// The sequence of the last announced change that wrote a key in the bucket of `keyHash`
    /// (0 for none since the file was made): a handle that has caught up to it or later
    /// already knows every announced write of that key.
    func lastChange(ofKey keyHash: UInt64) -> UInt64 {
        logcache_atomic_load(bucketWord(keyHash))
    }
}
