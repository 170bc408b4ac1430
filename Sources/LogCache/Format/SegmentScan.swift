/// Walks the records of a segment's bytes in log order, telling good records from damaged
/// ones and finding where a torn write at the end begins. Pure: it reads a buffer, not a file.
public enum SegmentScan {
    /// A run of bytes that holds no good record but is followed by good ones.
    public struct DamagedRange: Sendable, Equatable {
        /// Where the damaged bytes start in the segment.
        public var offset: Int
        /// How many bytes are damaged.
        public var length: Int
    }

    /// What a scan found besides the good records.
    public struct Outcome: Sendable, Equatable {
        /// End of the last good record: the length the segment should have.
        public var validEnd: Int
        /// Damaged runs in the middle, each followed by at least one good record.
        public var damaged: [DamagedRange]
        /// Bytes after `validEnd` that hold no good record (a torn or garbled tail).
        public var tornBytes: Int
        /// Good records seen.
        public var records: Int
        /// The furthest end that the sound header of a damaged record claims (0 for none):
        /// cutting the bytes below it would make a later scan take that record for a torn
        /// write (see ``scan(_:from:salt:visit:)``).
        public var furthestClaim = 0
    }

    /// Visits every good record from `start` on, with its offset, header and whole bytes;
    /// good means its checksum, salted with `salt`, holds.
    ///
    /// A bad record is skipped when a good record follows it anywhere later (damage in the
    /// middle); when none follows, everything from it on is the torn tail. A record whose
    /// header is sound but whose end lies past the end of the bytes is a torn tail too,
    /// never a place to search inside: a write cut short leaves exactly that, and the bytes
    /// it leaves are a value's, which may look like anything. The answer depends on where the
    /// bytes end, so whoever cuts a torn tail keeps the file at least as long as any damaged
    /// record before it claims (`furthestClaim`; Segment.cutTornTail).
    public static func scan(
        _ bytes: UnsafeRawBufferPointer, from start: Int, salt: RecordSalt,
        visit: (_ offset: Int, _ header: RecordHeader, _ record: UnsafeRawBufferPointer) -> Void
    ) -> Outcome {
        var outcome = Outcome(validEnd: start, damaged: [], tornBytes: 0, records: 0)
        var p = start
        while p < bytes.count {
            if let header = goodRecord(bytes, at: p, salt: salt) {
                visit(p, header, UnsafeRawBufferPointer(rebasing: bytes[p..<(p + header.totalLength)]))
                p += header.totalLength
                outcome.validEnd = p
                outcome.records += 1
                continue
            }
            let claimedEnd = soundHeaderEnd(bytes, at: p)
            guard claimedEnd.map({ $0 <= bytes.count }) ?? true,
                  let next = nextGoodRecord(bytes, after: p, claimedEnd: claimedEnd, salt: salt)
            else {
                outcome.tornBytes = bytes.count - p
                break
            }
            if let claimedEnd { outcome.furthestClaim = max(outcome.furthestClaim, claimedEnd) }
            outcome.damaged.append(DamagedRange(offset: p, length: next - p))
            p = next
        }
        return outcome
    }

    /// ``scan(_:from:salt:visit:)`` over a whole segment file's bytes. Offsets are 32 bits
    /// wide, so bytes past 4 GiB (only damage makes a segment that long) hold no record of
    /// the segment and count as a torn tail.
    public static func scanSegment(
        _ bytes: UnsafeRawBufferPointer, from start: Int, salt: RecordSalt,
        visit: (_ offset: Int, _ header: RecordHeader, _ record: UnsafeRawBufferPointer) -> Void
    ) -> Outcome {
        let usable = UnsafeRawBufferPointer(rebasing: bytes[0..<min(bytes.count, Limits.segmentOffsetLimit)])
        var outcome = scan(usable, from: start, salt: salt, visit: visit)
        outcome.tornBytes += bytes.count - usable.count
        return outcome
    }

    /// Where the record at `offset` ends by its header, when the header is sound (whatever
    /// its checksum says); nil when it is not.
    static func soundHeaderEnd(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard offset >= 0, offset + RecordHeader.size <= bytes.count,
              case .success(let h) = RecordCoding.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        else { return nil }
        return offset + h.totalLength
    }

    /// The header of the good record at `offset`, or nil.
    public static func goodRecord(_ bytes: UnsafeRawBufferPointer, at offset: Int, salt: RecordSalt) -> RecordHeader? {
        guard offset >= 0, offset + RecordHeader.size <= bytes.count else { return nil }
        guard case .success(let h) = RecordCoding.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...]), salt: salt) else {
            return nil
        }
        return h
    }

    /// The offset of the first good record after the bad one at `offset`: first where its
    /// sound header, if it has one, says it ends (`claimedEnd`), then byte by byte.
    static func nextGoodRecord(_ bytes: UnsafeRawBufferPointer, after offset: Int, claimedEnd: Int?,
                               salt: RecordSalt) -> Int? {
        if let guess = claimedEnd, guess < bytes.count, goodRecord(bytes, at: guess, salt: salt) != nil { return guess }
        var q = offset + 1
        while q + RecordHeader.size <= bytes.count {
            if goodRecord(bytes, at: q, salt: salt) != nil { return q }
            q += 1
        }
        return nil
    }
}
