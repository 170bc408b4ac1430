// libFuzzer target: the record decoder and the segment scanner.
//
// Each input is read three ways: as one record exactly as the read path decodes it; as the
// same record with its checksum made right, so that mutations reach the header limits, the
// key and the decompressors instead of stopping at the checksum; and as a segment's bytes
// as recovery scans them. Any trap, and any broken invariant below, is a crash the fuzzer
// reports.
import FuzzSupport
@testable import LogCache

/// The salt every input is checked with: a fuzzer cannot know a real store's, so the
/// checksum-fixed copy of each input is made with this one.
let salt = RecordSalt(0x4C4F_4743_4143_4845)

func fuzzRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    checkRecord(input)
    if let fixed = withChecksumFixed(input) {
        fixed.withUnsafeBytes { bytes in
            // A header that decodes, under a right checksum, is a good record.
            guard case .success = RecordCoding.decode(bytes, salt: salt) else { fatalError("checksum fixed, record still refused") }
            checkRecord(bytes)
        }
    }
    checkScan(input)
    return 0
}

/// Decodes one record and everything the read path takes from it.
func checkRecord(_ bytes: UnsafeRawBufferPointer) {
    guard case .success(let h) = RecordCoding.decode(bytes, salt: salt) else { return }
    guard h.totalLength <= bytes.count, h.keyLength >= 1, h.rawLength <= Limits.maxValueLength,
          h.storedLength <= h.rawLength, h.expiresAt >= 0, h.expiresAt <= Limits.latestExpiry
    else { fatalError("decoded header breaks its limits: \(h)") }
    let key = RecordCoding.key(of: h, in: bytes)
    guard key.count == h.keyLength else { fatalError("key length") }
    _ = RecordCoding.keyHash(of: h, in: bytes)
    let stored = RecordCoding.storedValue(of: h, in: bytes)
    guard stored.count == h.storedLength else { fatalError("stored length") }
    if h.kind == .value, let value = ValueCodec.decode(stored, codec: h.codec, rawLength: h.rawLength),
       value.count != h.rawLength {
        fatalError("value decoded to \(value.count) bytes, the header says \(h.rawLength)")
    }
}

/// The input with the salted CRC-32C of its first record written into its first four
/// bytes, when its header decodes and the record fits.
func withChecksumFixed(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
    guard case .success(let h) = RecordCoding.decodeHeader(input), h.totalLength <= input.count else { return nil }
    var bytes = [UInt8](input)
    let crc = bytes.withUnsafeBytes { RecordCoding.checksum(UnsafeRawBufferPointer(rebasing: $0[4..<h.totalLength]), salt: salt) }
    withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[i] = $0[i] } }
    return bytes
}

/// Scans the input as a segment body and checks that what the scan reports adds up.
func checkScan(_ bytes: UnsafeRawBufferPointer) {
    var last = 0
    let outcome = SegmentScan.scan(bytes, from: 0, salt: salt) { offset, h, record in
        guard offset >= last, offset + h.totalLength <= bytes.count, record.count == h.totalLength,
              SegmentScan.goodRecord(bytes, at: offset, salt: salt) == h
        else { fatalError("scan visited an impossible record at \(offset)") }
        last = offset + h.totalLength
    }
    guard outcome.validEnd == last, outcome.validEnd + outcome.tornBytes <= bytes.count else {
        fatalError("scan outcome does not add up: \(outcome)")
    }
    for d in outcome.damaged where d.length <= 0 || d.offset + d.length > outcome.validEnd {
        fatalError("damaged range outside the good records: \(d)")
    }
    if bytes.count >= SegmentHeader.size {
        _ = SegmentHeader.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<SegmentHeader.size]))
    }
}

runFuzzer { data, size in fuzzRecord(data, size) }
