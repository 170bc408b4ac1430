import Foundation

extension CacheStore {
    /// Stores `data` under `key`.
    public func set(_ data: Data, forKey key: String, ttl: Duration? = nil) throws(CacheError) {
        try set([UInt8](data), forKey: key, ttl: ttl)
    }

    /// The value under `key` as `Data`.
    public func data(forKey key: String) throws(CacheError) -> Data? {
        try value(forKey: key).map { Data($0) }
    }

    /// Stores a `Codable` value as JSON: plain data, never executable serialization, so a
    /// store from elsewhere cannot run code when read.
    public func set<T: Encodable>(encoding value: T, forKey key: String, ttl: Duration? = nil) throws(CacheError) {
        let bytes: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            bytes = try encoder.encode(value)
        } catch {
            throw .coding("\(error)")
        }
        try set(bytes, forKey: key, ttl: ttl)
    }

    /// The value under `key` decoded from JSON as `type`; nil on a miss. A value that does not
    /// decode as `type` throws ``CacheError/coding(_:)``.
    public func value<T: Decodable>(_ type: T.Type, forKey key: String) throws(CacheError) -> T? {
        guard let bytes = try value(forKey: key) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .coding("value under \"\(key)\" is not a \(T.self): \(error)")
        }
    }
}
