import CLogCacheSupport
#if canImport(Glibc)
import Glibc
#endif

/// The page every process with the store open maps from the `SHARED` file: the append mutex
/// that serializes writers across processes, and counters that make "has anyone else changed
/// the store?" one memory load on every read (docs/format.md, "SHARED").
///
/// - `sequence` goes up after every append and every manifest change, once the change
///   is in the files;
/// - `generation` is the generation of the last manifest published, or of one about to be;
/// - `announced end`: the active segment and its length as of the last announcement. Every
///   append announces itself before it lets the mutex go, so under the mutex this is where
///   the log ends, and no process needs to ask the file system for the segment's length;
/// - the append mutex (byte 64): process-shared and robust, so that a holder killed by a
///   signal hands the next locker `EOWNERDEAD` instead of blocking everyone. A locker that
///   gets it marks the tail in doubt, and the next catch-up under the mutex checks the
///   segment's real length, cuts torn bytes and announces what the dead holder wrote;
/// - from byte 128 to the end, one word per bucket of key hashes: the `sequence` of the last
///   change that wrote a key of the bucket (a value, a tombstone or an eviction record),
///   so that a reader can tell whether another process's changes touch the key it wants.
///
/// The counters are hints, never the truth: the files are.
final class SharedCounters: @unchecked Sendable {
    static let fileName = "SHARED"
    static let size = 4096
    static let magic: [UInt8] = Array("LCSHARED".utf8)

    private let file: File
    private let base: UnsafeMutableRawPointer

    /// The layout of the page this build reads and writes: 2 put the append mutex at byte 64
    /// and the buckets after it. Version 1's page (format version 2 stores) has 0 here.
    static let layoutVersion: UInt64 = 2

    /// Maps the file, creating or re-initialising it when it is missing, short or not one.
    /// Called with the `APPEND` flock held, so no other process opening the store meanwhile
    /// creates it too. A page of an earlier layout is mapped as it is: ``isCurrentLayout``
    /// says so, and opening re-initialises it (``reinitialize()``) only when no other process
    /// has the store open, since an older build's handles are using it.
    init(directory: Directory) throws(CacheError) {
        let file = try File.open(directory.path(Self.fileName), flags: O_RDWR | O_CREAT)
        let header = try file.size() >= Self.size ? try file.read(count: 8, at: 0) : []
        let fresh = header != Self.magic
        if fresh {
            try file.truncate(to: 0)
            try file.truncate(to: Self.size)
            try file.write(Self.magic, at: 0)
        }
        guard let p = mmap(nil, Self.size, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd, 0), p != MAP_FAILED else {
            throw .io(operation: "mmap", path: file.path, errno: errno)
        }
        self.file = file
        base = p
        if fresh { try reinitialize() }
    }

    /// Whether the page has this build's layout. One of an earlier layout belongs to a store of
    /// an earlier format version, and to any handles of an older build that have it open.
    var isCurrentLayout: Bool { logcache_atomic_load(layoutWord) == Self.layoutVersion }

    /// Clears the page and sets up the append mutex. Only while nobody else can be using the
    /// page: a new file under the `APPEND` flock, or an older layout with the store to itself.
    /// The layout word is written last, so a page whose set-up was cut short is set up again.
    func reinitialize() throws(CacheError) {
        logcache_atomic_store(layoutWord, 0)
        memset(base + 8, 0, Self.size - 8)
        guard logcache_shared_mutex_size() <= Self.mutexRoom else {
            throw .corruptStore(path: file.path, detail: "this system's pthread mutex takes \(logcache_shared_mutex_size()) bytes, more than the \(Self.mutexRoom) the page has for it")
        }
        let rc = logcache_shared_mutex_init(mutex)
        guard rc == 0 else { throw .io(operation: "pthread_mutex_init", path: file.path, errno: rc) }
        // Whoever takes the mutex first checks the end of the log against the files.
        logcache_atomic_store(tailInDoubtWord, 1)
        logcache_atomic_store(layoutWord, Self.layoutVersion)
    }

    deinit { munmap(base, Self.size) }

    private var sequenceWord: UnsafeMutablePointer<UInt64> { (base + 8).assumingMemoryBound(to: UInt64.self) }
    private var generationWord: UnsafeMutablePointer<UInt64> { (base + 16).assumingMemoryBound(to: UInt64.self) }
    /// Segment number in the high 32 bits, length in the low 32 (segment offsets are 32 bits wide).
    private var announcedEndWord: UnsafeMutablePointer<UInt64> { (base + 24).assumingMemoryBound(to: UInt64.self) }

    /// The layout version (``layoutVersion``; 0 in the first layout).
    private var layoutWord: UnsafeMutablePointer<UInt64> { (base + 32).assumingMemoryBound(to: UInt64.self) }
    /// Nonzero when the active segment may hold bytes past the announced end that nobody
    /// cut: a holder of the append mutex died, or a failed append could not be cut back.
    private var tailInDoubtWord: UnsafeMutablePointer<UInt64> { (base + 40).assumingMemoryBound(to: UInt64.self) }
    /// The append mutex: a process-shared, robust pthread mutex (at most 64 bytes).
    var mutex: UnsafeMutableRawPointer { base + Self.mutexOffset }
    static let mutexOffset = 64
    private static let mutexRoom = 64

    private static let bucketsOffset = mutexOffset + mutexRoom
    /// Buckets of key hashes: the rest of the page.
    static let bucketCount = (size - bucketsOffset) / 8

    private func bucketWord(_ keyHash: UInt64) -> UnsafeMutablePointer<UInt64> {
        // High bits: the index uses the low ones, so keys that collide there spread here.
        let bucket = Int((keyHash >> 32) % UInt64(Self.bucketCount))
        return (base + Self.bucketsOffset + 8 * bucket).assumingMemoryBound(to: UInt64.self)
    }

    // MARK: The append mutex

    /// How long a locker keeps trying the mutex before it sleeps in the kernel. A holder is
    /// done in microseconds unless it was descheduled; with 8 processes on 2 cores the mix of
    /// workload 7 (docs/performance.md) ran 140,000 ops/s without spinning and 182,000 with
    /// 100 µs, which was better than 30 µs and no worse than 300 µs.
    private static let spinMicroseconds: Int32 = 100

    /// Takes the append mutex, waiting for its holder. When the holder died holding it,
    /// the tail is marked in doubt (the caller's catch-up then checks the segment) and the
    /// mutex made consistent again. Each holder is one thread, which must let it go.
    func lockAppend() throws(CacheError) {
        let rc = logcache_shared_mutex_lock(mutex, Self.spinMicroseconds)
        switch rc {
        case 0:
            return
        case EOWNERDEAD:
            // Marked before the mutex is consistent again: a locker that dies right here
            // leaves it owner-dead, and the next one marks it too.
            logcache_atomic_store(tailInDoubtWord, 1)
            let made = logcache_shared_mutex_consistent(mutex)
            guard made == 0 else {
                // Let go rather than hold it for ever: lockers then get an error, not a hang.
                _ = logcache_shared_mutex_unlock(mutex)
                throw .io(operation: "pthread_mutex_consistent", path: file.path, errno: made)
            }
        default:
            throw .io(operation: "lock the append mutex in", path: file.path, errno: rc)
        }
    }

    /// Lets the append mutex go.
    func unlockAppend() {
        _ = logcache_shared_mutex_unlock(mutex)
    }

    /// Whether the active segment may hold bytes past the announced end that nobody cut or
    /// announced. Read and changed only under the append mutex.
    var tailInDoubt: Bool {
        get { logcache_atomic_load(tailInDoubtWord) != 0 }
        set { logcache_atomic_store(tailInDoubtWord, newValue ? 1 : 0) }
    }

    // MARK: Counters

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
