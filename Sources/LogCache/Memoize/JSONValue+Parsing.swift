import Foundation

extension JSONValue {
    /// The value that JSON text stands for (one value: an object, an array, a string, a
    /// number, `true`, `false` or `null`).
    ///
    /// - Throws: ``CacheError/coding(_:)`` naming what is wrong when the text is not JSON.
    public init(json: UnsafeRawBufferPointer) throws(CacheError) {
        do {
            self = try JSONDecoder().decode(JSONValue.self, from: Data(json))
        } catch {
            throw .coding("not JSON: \(error)")
        }
    }
}
