import Dispatch

extension CacheStore {
    /// Below this many records a batch is encoded on the caller's thread: handing work to
    /// other threads costs more than compressing a few values.
    static let parallelEncodingMinimum = 64

    /// Encodes the records of a batch, on every core when the batch is large and compressed.
    ///
    /// Compression is most of the cost of a batched write (zstd level 3 takes microseconds per
    /// kilobyte) and each record compresses on its own, so a batch's records are encoded in
    /// chunks on several threads before the writer lock is taken; the records keep the order
    /// of `count`. The first error by position is thrown, as encoding in order would.
    func encodeRecords(count: Int, _ encode: @Sendable (Int) throws(CacheError) -> PendingRecord) throws(CacheError) -> [PendingRecord] {
        let workers = Processors.online
        guard count >= Self.parallelEncodingMinimum, workers > 1, settings.compression != .none else {
            var records: [PendingRecord] = []
            records.reserveCapacity(count)
            for i in 0..<count { records.append(try encode(i)) }
            return records
        }
        // Several chunks per thread, taken in turn, so that a thread slowed by other work
        // on the machine does not hold the batch up.
        let chunks = min(count, workers * 4)
        var slots = [PendingRecord?](repeating: nil, count: count)
        var failures = [CacheError?](repeating: nil, count: chunks)
        slots.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { failed in
                // Each chunk writes only its own slots and its own failure cell.
                let cells = Cells(records: out, failures: failed)
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                        do throws(CacheError) {
                            cells.records[i] = try encode(i)
                        } catch {
                            cells.failures[chunk] = error
                            return
                        }
                    }
                }
            }
        }
        if let error = failures.lazy.compactMap({ $0 }).first { throw error }
        let records = slots.compactMap { $0 }
        guard records.count == count else { throw .invalidOption("a batch's records were not all encoded") }
        return records
    }
}

/// The output cells of a parallel encoding, shared by its threads, which write disjoint cells.
private struct Cells: @unchecked Sendable {
    let records: UnsafeMutableBufferPointer<PendingRecord?>
    let failures: UnsafeMutableBufferPointer<CacheError?>
}
