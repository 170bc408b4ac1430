import Dispatch

/// Encodes a large batch in chunks on every core and hands each chunk, in order, to a
/// consumer as soon as it and every chunk before it are encoded, so that appending one chunk
/// (one thread at a time, under the log's locks) overlaps encoding the next ones.
///
/// Encoding a batch first and appending it after leaves all cores but one idle while the
/// records are written and indexed. Here no thread ever waits for another: a thread that
/// finishes a chunk appends every chunk that is ready in order, unless another thread is
/// appending already, which then takes that chunk too before it stops (both under one lock),
/// so when every chunk is encoded every chunk is appended.
///
/// A failure stops the batch at its chunk: the chunks before it are appended, none after it,
/// and the failure (the first one in order) is thrown. (An append that fails part-way keeps
/// what it wrote in the segments it filled before the failed write, as any append does.)
final class EncodingPipeline: @unchecked Sendable {
    /// Records per chunk: enough that a chunk's append (one lock, one write) costs little per
    /// record, few enough that the last chunk's append, which nothing overlaps, is short.
    static let chunkRecords = 64

    private struct State {
        /// Encoded chunks waiting for the ones before them, by number.
        var encoded: [Int: Result<[PendingRecord], CacheError>] = [:]
        /// The next chunk to append.
        var next = 0
        /// Whether a thread is appending now.
        var appending = false
        /// The first failure in order; nothing is appended after it.
        var failure: CacheError?

        /// The next chunk when it is encoded and nothing failed, marking this thread as the
        /// appender; otherwise nil, and nobody is appending any more.
        mutating func takeNext() -> [PendingRecord]? {
            guard failure == nil, let result = encoded.removeValue(forKey: next) else {
                appending = false
                return nil
            }
            switch result {
            case .success(let records):
                next += 1
                appending = true
                return records
            case .failure(let error):
                stop(error)
                return nil
            }
        }

        /// Ends the batch at `error` unless an earlier failure did: nothing more is appended.
        mutating func stop(_ error: CacheError) {
            if failure == nil { failure = error }
            appending = false
            encoded.removeAll()
        }
    }

    private let state = Lock(State())
    private let count: Int
    private let chunks: Int

    private init(count: Int) {
        self.count = count
        chunks = (count + Self.chunkRecords - 1) / Self.chunkRecords
    }

    /// Encodes records `0..<count` with `encode` and appends them in order with `append`,
    /// a chunk at a time; throws the first failure in order.
    static func run(count: Int, encode: @Sendable (Int) throws(CacheError) -> PendingRecord,
                    append: @Sendable ([PendingRecord]) throws(CacheError) -> Void) throws(CacheError) {
        let pipeline = EncodingPipeline(count: count)
        DispatchQueue.concurrentPerform(iterations: pipeline.chunks) { chunk in
            pipeline.encode(chunk, encode, then: append)
        }
        if let failure = pipeline.state.withLock({ $0.failure }) { throw failure }
    }

    private func encode(_ chunk: Int, _ encode: (Int) throws(CacheError) -> PendingRecord,
                        then append: ([PendingRecord]) throws(CacheError) -> Void) {
        // Nothing after a failure is appended: its encoding would be wasted.
        guard state.withLock({ $0.failure == nil }) else { return }
        let range = (chunk * Self.chunkRecords)..<min(count, (chunk + 1) * Self.chunkRecords)
        let result: Result<[PendingRecord], CacheError>
        do throws(CacheError) {
            var records: [PendingRecord] = []
            records.reserveCapacity(range.count)
            for i in range { records.append(try encode(i)) }
            result = .success(records)
        } catch {
            result = .failure(error)
        }
        var ready = state.withLock { s -> [PendingRecord]? in
            s.encoded[chunk] = result
            return s.appending ? nil : s.takeNext()
        }
        while let records = ready {
            var failure: CacheError?
            do throws(CacheError) { try append(records) } catch { failure = error }
            ready = state.withLock { s -> [PendingRecord]? in
                if let failure { s.stop(failure) }
                return s.takeNext()
            }
        }
    }
}
