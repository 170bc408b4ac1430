/// Turns an `Encodable` value into canonical bytes: the same logical value gives the same
/// bytes in every process, on every run and on every platform, and values that differ in any
/// encoded field give different bytes. Memo keys are the SHA-256 of these bytes.
///
/// The bytes are JSON text without whitespace:
/// - object members sorted by the UTF-8 bytes of their names;
/// - `Dictionary` and `Set` sorted too (their iteration order changes from process to process,
///   because Swift seeds its hashing randomly at launch): a dictionary whose keys encode as
///   strings or numbers becomes an object, any other dictionary an array of `[key, value]`
///   pairs sorted by the key's canonical bytes; a set becomes an array sorted by each
///   element's canonical bytes. Every other sequence keeps its order, which is taken to mean
///   something;
/// - numbers in one fixed text whatever their Swift type (see `CanonicalNumber`): `5`,
///   `5.0` and `UInt8(5)` agree, `0.1` is `1e-1`; NaN and infinities are refused;
/// - strings as their exact UTF-8 bytes (no Unicode normalization: different bytes are a
///   different request), escaped only where JSON requires it;
/// - `nil` written with `encodeNil` as `null`; an optional left out with `encodeIfPresent`
///   (what synthesized `Codable` does) is absent, so `nil` and a default value differ.
///
/// Fields named in ``excludedFields`` are left out wherever they occur: a keyed field of any
/// type or a dictionary key, at any depth.
public struct CanonicalEncoder: Sendable {
    /// Names of fields (and dictionary keys) left out of the encoding, at any depth.
    public var excludedFields: Set<String>

    /// An encoder that leaves out the fields named in `excluding`.
    public init(excluding: Set<String> = []) {
        excludedFields = excluding
    }

    /// The canonical bytes of `value`.
    ///
    /// - Throws: ``MemoError/unencodableKey(path:reason:)`` when the value cannot be encoded
    ///   canonically (a NaN or infinite number, or an error its `encode(to:)` throws), naming
    ///   the field.
    public func encode<T: Encodable>(_ value: T) throws(MemoError) -> [UInt8] {
        try canonicalValue(value).bytes
    }

    /// The canonical bytes of `value` as text, for seeing what a key is made of.
    public func text<T: Encodable>(_ value: T) throws(MemoError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    func canonicalValue<T: Encodable>(_ value: T) throws(MemoError) -> CanonicalValue {
        let slot = CanonicalSlot()
        do {
            try CanonicalWriter(codingPath: [], slot: slot, excluded: excludedFields).write(value)
        } catch let error as EncodingError {
            throw MemoError(encodingError: error)
        } catch {
            throw .unencodableKey(path: "", reason: "\(error)")
        }
        return slot.resolved
    }
}
