#if canImport(Glibc)
import Glibc
#endif

/// One segment file, open for reading by any number of threads.
///
/// Readers hold a reference while they read, so the file stays readable until the last
/// of them is done even if the segment is dropped from the store meanwhile.
final class Segment: Sendable {
    let id: UInt32
    let file: File

    init(id: UInt32, file: File) {
        self.id = id
        self.file = file
    }

    /// "0000000042.seg": fixed width, so names sort in log order.
    static func fileName(_ id: UInt32) -> String { padded(id) + ".seg" }

    /// The name of the segment's index file.
    static func indexFileName(_ id: UInt32) -> String { padded(id) + ".idx" }

    /// The segment number in a segment or index file name, if it is one.
    static func id(inFileName name: String, suffix: String) -> UInt32? {
        guard name.hasSuffix(suffix), name.count == 10 + suffix.count else { return nil }
        return UInt32(name.dropLast(suffix.count))
    }

    private static func padded(_ id: UInt32) -> String {
        let digits = String(id)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    /// The bytes of the record at `offset`.
    func readRecord(offset: UInt32, length: UInt32) throws(CacheError) -> [UInt8] {
        try file.read(count: Int(length), at: Int(offset))
    }
}

/// The segment new records are appended to, and what its index file will list.
struct ActiveSegment {
    let segment: Segment
    /// Bytes written so far; the next record goes here.
    var length: Int
    /// Encoded ``IndexFileEntry`` values for the records in this segment, in log order.
    var indexEntries: ByteWriter
    /// Written since the last fsync.
    var unsynced = false

    init(segment: Segment, length: Int, indexEntries: ByteWriter = ByteWriter()) {
        self.segment = segment
        self.length = length
        self.indexEntries = indexEntries
    }

    /// The index file for what has been written so far.
    func indexFile() -> [UInt8] {
        IndexFile.encode(segmentID: segment.id, coveredLength: UInt64(length), entryBytes: indexEntries.bytes)
    }
}
