/// Values with a type: what a binding in another language stores so that it gets back the
/// kind of value it wrote (``ValueType``). The type is kept in the value's record; readers
/// that ask only for bytes (``CacheStore/value(forKey:)-(String)``, `cachectl get`) get the
/// same bytes as ever.
extension CacheStore {
    /// Stores `value` under `key` as a value of `type`, replacing any value the key had.
    ///
    /// - Parameters:
    ///   - value: the bytes to store.
    ///   - key: the key, as bytes.
    ///   - type: what the bytes are, kept in the record and given back with them.
    ///   - ttl: how long the value lives; nil uses the store's default TTL (if any).
    /// - Throws: as ``set(_:forKey:ttl:)-([UInt8],String,_)`` does.
    public func set(_ value: [UInt8], forKey key: [UInt8], type: ValueType, ttl: Duration? = nil) throws(CacheError) {
        try withBytes(key) { k throws(CacheError) in
            try withBytes(value) { v throws(CacheError) in try set(value: v, key: k, ttl: ttl, type: type) }
        }
    }

    /// ``set(_:forKey:type:ttl:)-([UInt8],[UInt8],_,_)`` for a key and value in buffers the
    /// caller owns (a binding's memory): nothing is copied before the record is encoded.
    public func set(_ value: UnsafeRawBufferPointer, forKey key: UnsafeRawBufferPointer, type: ValueType,
                    ttl: Duration? = nil) throws(CacheError) {
        try set(value: value, key: key, ttl: ttl, type: type)
    }

    /// Calls `body` with the type and the bytes of the value stored under `key` (the bytes
    /// valid only inside `body`) and returns what it returned; nil, and `body` not called,
    /// when there is no value. The checks are those of ``value(forKey:)-(String)``.
    public func withTypedValue<R>(forKey key: UnsafeRawBufferPointer,
                                  _ body: (ValueType, UnsafeRawBufferPointer) -> R) throws(CacheError) -> R? {
        var result: R?
        let found = try withValue(key: key) { result = body($0, $1) }
        return found ? result : nil
    }

    /// The type and bytes of the value stored under `key`, or nil when there is none.
    public func typedValue(forKey key: [UInt8]) throws(CacheError) -> (type: ValueType, value: [UInt8])? {
        try withBytes(key) { k throws(CacheError) in try withTypedValue(forKey: k) { ($0, [UInt8]($1)) } }
    }

    /// Stores many values of their own types, all with the same TTL, as
    /// ``setValues(_:ttl:)-([String:[UInt8]],_)`` writes them; of two with the same key the
    /// later one wins.
    public func setValues(_ values: [(key: [UInt8], value: [UInt8], type: ValueType)], ttl: Duration? = nil) throws(CacheError) {
        let now = clock.now()
        let encoder = self.encoder
        try appendBatch(count: values.count, check: { i throws(CacheError) in
            try RecordEncoder.check(keyLength: values[i].key.count, valueLength: values[i].value.count)
        }) { i throws(CacheError) in
            try withBytes(values[i].key) { k throws(CacheError) in
                try withBytes(values[i].value) { v throws(CacheError) in
                    try encoder.value(key: k, value: v, ttl: ttl, now: now, type: values[i].type)
                }
            }
        }
    }

    /// Reads the values of many keys of arbitrary bytes and hands each to `body` with its
    /// position in `keys` and its type, as ``forEachValue(forKeys:_:)`` does (in log order,
    /// each value valid only inside `body`); returns how many keys had a value.
    @discardableResult
    public func forEachTypedValue(forKeys keys: [[UInt8]],
                                  _ body: (Int, ValueType, UnsafeRawBufferPointer) -> Void) throws(CacheError) -> Int {
        var count = 0
        let hashes = keys.map { k in withBytes(k) { KeyHash.hash($0) } }
        for hit in try locatedInLogOrder(hashes) {
            let found = try withBytes(keys[hit.index]) { k throws(CacheError) in
                try borrow(hit.entry, in: hit.segment, key: k) { body(hit.index, $0, $1) }
            }
            if found { count += 1 }
        }
        return count
    }
}
