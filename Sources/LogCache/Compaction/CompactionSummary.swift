/// What one compaction pass did.
public struct CompactionSummary: Sendable, Equatable, Codable {
    /// Segment files before the pass, the active one included.
    public var segmentsBefore: Int
    /// Segment files after it.
    public var segmentsAfter: Int
    /// Bytes of segment and index files before the pass.
    public var bytesBefore: Int
    /// Bytes of segment and index files after it.
    public var bytesAfter: Int
    /// Sealed segments the pass rewrote.
    public var segmentsRewritten: Int
    /// Bytes of live records copied into the new segments.
    public var liveBytesCopied: Int
    /// Bytes the pass wrote: new segments (live records and the tombstones still needed)
    /// and their index files.
    public var bytesWritten: Int
    /// Bytes of the files the pass removed.
    public var bytesFreed: Int
    /// Wall-clock seconds the pass took.
    public var seconds: Double
    /// Of ``seconds``, those spent copying live records into the new segments' files.
    public var copySeconds: Double = 0
    /// Of ``seconds``, those spent waiting for the new segments to reach the disk and writing
    /// their index files: the part of a pass the disk's speed sets.
    public var syncSeconds: Double = 0
    /// Bytes written to the disk per byte of data, were every byte freed paid for at this
    /// pass's price: 1 + bytesWritten / bytesFreed. 1 means freeing space cost no copying;
    /// 0 when the pass freed nothing.
    public var writeAmplification: Double

    /// A pass that found nothing worth rewriting.
    static func nothing(segments: Int, bytes: Int, seconds: Double) -> CompactionSummary {
        CompactionSummary(
            segmentsBefore: segments, segmentsAfter: segments, bytesBefore: bytes, bytesAfter: bytes,
            segmentsRewritten: 0, liveBytesCopied: 0, bytesWritten: 0, bytesFreed: 0, seconds: seconds,
            writeAmplification: 0)
    }
}

/// How far a compaction pass has come, for a progress display.
public struct CompactionProgress: Sendable, Equatable {
    /// The steps of a pass, in order.
    public enum Phase: Sendable, Equatable {
        /// Copying live records of the chosen segments into new ones.
        case copying
        /// The new segments are on the disk; the manifest that names them is next.
        case publishing
        /// The new manifest is in place; the old segments are being removed.
        case removing
    }

    /// What the pass is doing now.
    public var phase: Phase
    /// Bytes of the chosen segments read so far (while copying), or old files removed so far.
    public var done: Int
    /// Bytes of the chosen segments (while copying), or old files to remove.
    public var total: Int
}
