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
/// - `announced end`: the active segment and its length as of the last announcement, so
///   that a writer can tell which records at the end of the log nobody announced;
/// - from byte 64 to the end, one word per bucket of key hashes: the `sequence` of the last
///   change that wrote a key of the bucket (a value, a tombstone or an eviction record),
///   so that a reader can tell whether another process's changes touch the key it wants.
///
/// The counters are hints, never the truth: the files are. A process killed after appending
/// but before it bumps `sequence` leaves records nobody announced; the next process to take
/// the append lock (a writer, or an open) finds them past the announced end and announces
/// their keys with its own change.
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
    /// Segment number in the high 32 bits, length in the low 32 (segment offsets are 32 bits wide).
    private var announcedEndWord: UnsafeMutablePointer<UInt64> { (base + 24).assumingMemoryBound(to: UInt64.self) }

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
    /// A writer whose manifest write failed sets it back the same way.
    func intend(generation: UInt64) {
        logcache_atomic_store(generationWord, generation)
    }

    /// Announces changes that are already in the files, which wrote the keys `keyHashes` and
    /// leave the active segment `end.segment` holding `end.length` bytes of good records;
    /// returns the new sequence. Called only with the append lock held, so that one writer
    /// at a time marks buckets and their sequences only go up.
    ///
    /// The buckets are marked before the sequence moves: a reader that sees the new sequence
    /// also sees the marks.
    @discardableResult
    func announce(keyHashes: [UInt64], end: (segment: UInt32, length: Int)) -> UInt64 {
        let sequence = logcache_atomic_load(sequenceWord) &+ 1
        for hash in keyHashes { logcache_atomic_store(bucketWord(hash), sequence) }
        let length = UInt64(clamping: max(0, end.length))
        logcache_atomic_store(announcedEndWord, UInt64(end.segment) << 32 | min(length, UInt64(UInt32.max)))
        logcache_atomic_store(sequenceWord, sequence)
        return sequence
    }

    /// The active segment and the length it had at the last announcement; segment 0 (no
    /// segment has that number) when none was made since the file was created.
    var announcedEnd: (segment: UInt32, length: Int) {
        let word = logcache_atomic_load(announcedEndWord)
        return (UInt32(truncatingIfNeeded: word >> 32), Int(word & 0xFFFF_FFFF))
    }

    /// The key hashes of the records of `active` that no announcement covers, up to its
    /// length; nil when the last announcement ended where it ends. Called with the append
    /// lock held, after the torn bytes were cut.
    ///
    /// Past the announced end of the same segment only those records are read. When the last
    /// announcement named another segment (a writer that started this one was killed before
    /// announcing, or the file is new), the whole segment is: a process that caught up after
    /// the new manifest may have missed any of its records.
    func keysPastAnnouncedEnd(of active: ActiveSegment, salt: RecordSalt) throws(CacheError) -> [UInt64]? {
        let announced = announcedEnd
        guard announced.segment != active.segment.id || announced.length != active.length else { return nil }
        let sameSegment = announced.segment == active.segment.id
        let from = sameSegment && announced.length >= SegmentHeader.size && announced.length <= active.length
            ? announced.length : SegmentHeader.size
        var keys: [UInt64] = []
        _ = try active.segment.scanTail(from: from, to: active.length, salt: salt) { keys.append($0.keyHash) }
        return keys
    }

    /// The sequence of the last announced change that wrote a key in the bucket of `keyHash`
    /// (0 for none since the file was made): a handle that has caught up to it or later
    /// already knows every announced write of that key.
    func lastChange(ofKey keyHash: UInt64) -> UInt64 {
        logcache_atomic_load(bucketWord(keyHash))
    }
}
