// libFuzzer target: the manifest decoder and the POLICY snapshot decoder.
//
// Each input is decoded as it is and again with its trailing checksum made right, so that
// mutations reach the field checks. A manifest that decodes must satisfy every rule the
// format states, and encoding it must give a file that decodes to the same manifest.
import FuzzSupport
@testable import LogCache

func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
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
    if case .success(let m) = Manifest.decode(bytes) {
        guard !m.segments.isEmpty, Set(m.segments).count == m.segments.count,
              m.segments.allSatisfy({ $0 < m.nextSegmentID }),
              m.settings.segmentSize >= 4096, m.settings.segmentSize <= StoreSettings.maxSegmentSize,
              (0...Limits.latestExpiry).contains(m.settings.defaultTTLMilliseconds ?? 0)
        else { fatalError("a manifest breaking the format's rules was accepted: \(m)") }
        let again = m.encoded().withUnsafeBytes { Manifest.decode($0) }
        guard case .success(let m2) = again, m2.formatVersion == FormatVersion.current else {
            fatalError("an encoded manifest does not decode: \(m)")
        }
        // A version-1 manifest encodes as the current version: the same store but for the salt,
        // which conversion chooses.
        var expected = m
        if m.formatVersion != FormatVersion.current {
            expected.formatVersion = FormatVersion.current
            expected.salt = m2.salt
        }
        guard m2 == expected else { fatalError("manifest does not survive encoding: \(m)") }
    }
    if let p = PolicySnapshot.decode(bytes) {
        // Version 4 added the ghosts' and words' counts and lists between the entries and the
        // checksum; earlier files end after their entries.
        let version = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        let extras = version >= 4 ? 4 + p.extras.ghosts.count * PolicySnapshot.ghostSize + 4 + p.extras.words.count * 8 : 0
        guard PolicySnapshot.headerSize + p.entries.count * PolicySnapshot.entrySize + extras + 4 == bytes.count else {
            fatalError("snapshot counts do not match its length")
        }
        if version < 4, !p.extras.ghosts.isEmpty || !p.extras.words.isEmpty {
            fatalError("a snapshot of version \(version) came back with ghosts or words")
        }
        let again = p.encoded().withUnsafeBytes { PolicySnapshot.decode($0) }
        guard again == p else { fatalError("snapshot does not survive encoding") }
    }
}

runFuzzer { data, size in fuzzManifest(data, size) }
