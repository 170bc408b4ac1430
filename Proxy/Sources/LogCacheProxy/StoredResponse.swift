import Foundation

/// A response as the proxy keeps it in the store: status, content type, whether it was a
/// stream, how long the upstream took, when it was stored, and the body's bytes.
///
/// Layout (little-endian): `LCPX` (4 bytes), layout version (1 byte, = 1), flags (1 byte;
/// bit 0: a stream), status (u16), upstream time in microseconds (u64), stored at in ms since
/// 1970 (i64), content-type length N (u16), N bytes of content type, then the body. Every
/// length is checked against the value's own length before use: a damaged or foreign value
/// is a miss, never a garbled response.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var isStream: Bool
    public var upstreamMicroseconds: UInt64
    public var storedAt: Int64
    public var body: [UInt8]

    static let magic: [UInt8] = Array("LCPX".utf8)
    static let headerSize = 4 + 1 + 1 + 2 + 8 + 8 + 2

    public init(status: Int, contentType: String, isStream: Bool, upstreamMicroseconds: UInt64, storedAt: Int64, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.isStream = isStream
        self.upstreamMicroseconds = upstreamMicroseconds
        self.storedAt = storedAt
        self.body = body
    }

    /// The bytes kept in the store.
    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.append(1)
        out.append(isStream ? 1 : 0)
        withUnsafeBytes(of: UInt16(clamping: status).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: upstreamMicroseconds.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: storedAt.littleEndian) { out.append(contentsOf: $0) }
        let type = Array(contentType.utf8.prefix(Int(UInt16.max)))
        withUnsafeBytes(of: UInt16(type.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: type)
        out.append(contentsOf: body)
        return out
    }

    /// The response `bytes` hold; nil when they are not a stored response of this layout.
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= Self.headerSize, bytes.prefix(4).elementsEqual(Self.magic), bytes[4] == 1, bytes[5] <= 1 else {
            return nil
        }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let typeLength = u16(Self.headerSize - 2)
        guard bytes.count >= Self.headerSize + typeLength else { return nil }
        let status = u16(6)
        guard (100...599).contains(status) else { return nil }
        self.status = status
        isStream = bytes[5] == 1
        upstreamMicroseconds = u64(8)
        storedAt = Int64(bitPattern: u64(16))
        contentType = String(decoding: bytes[Self.headerSize..<(Self.headerSize + typeLength)], as: UTF8.self)
        body = Array(bytes[(Self.headerSize + typeLength)...])
    }
}
