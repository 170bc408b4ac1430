// libFuzzer target: the index-file decoder.
//
// Each input is decoded as it is and again with its trailing checksum made right, so that
// mutations reach the entry checks. A file that decodes must encode back to exactly the
// same bytes (one of an earlier version read in place, to the same file in the current
// version), and every entry it yields must lie where the format says it can.
import FuzzSupport
@testable import LogCache

func fuzzIndex(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    check(input)
    if input.count >= 4 {
        var fixed = [UInt8](input)
        let crc = fixed.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<($0.count - 4)])) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { fixed[fixed.count - 4 + i] = $0[i] } }
        fixed.withUnsafeBytes { check($0) }
    }
    return 0
}

func check(_ bytes: UnsafeRawBufferPointer) {
    guard case .success(let header) = IndexFile.validate(bytes) else { return }
    guard IndexFile.headerSize + header.count * IndexFileEntry.size + 4 == bytes.count else {
        fatalError("entry count \(header.count) accepted for a file of \(bytes.count) bytes")
    }
    var seen = 0
    let walked = IndexFile.forEachEntry(bytes, coveredLength: header.coveredLength, count: header.count) { e in
        guard Int(e.offset) >= SegmentHeader.size, Int(e.length) >= RecordHeader.size,
              UInt64(e.offset) + UInt64(e.length) <= header.coveredLength, e.expiresAt >= 0,
              e.expiresAt <= Limits.latestExpiry
        else { fatalError("impossible entry accepted: \(e)") }
        seen += 1
    }
    switch IndexFile.decode(bytes) {
    case .success(let file):
        guard case .success = walked, seen == header.count, file.entries.count == header.count else {
            fatalError("decode and forEachEntry disagree")
        }
        let version = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        if version == FormatVersion.current {
            guard file.encoded().elementsEqual(bytes) else { fatalError("a decoded index file does not encode back to its bytes") }
        } else {
            // A version read in place encodes as the current one (its version field and
            // checksum change): it must decode back to the same file.
            guard case .success(let again) = file.encoded().withUnsafeBytes({ IndexFile.decode($0) }), again == file else {
                fatalError("an index file of version \(version) does not encode back to the same file")
            }
        }
    case .failure:
        guard case .failure = walked else { fatalError("decode refused a file whose entries all passed") }
    }
}

runFuzzer { data, size in fuzzIndex(data, size) }
