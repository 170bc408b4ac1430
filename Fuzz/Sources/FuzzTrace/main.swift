// libFuzzer target: the trace readers of `cachectl bench`.
//
// The first byte picks the format (and whether the rest is read through the zstd stream
// decoder); the rest is the trace. Readers must end with requests or a TraceError, never
// trap, hang or read past their buffer. Requests are counted up to a bound, because a
// `.lis` line may stand for billions of blocks.
import FuzzSupport
import LogCacheSimulation

/// Bytes in memory as a ``ByteSource``, handed out in small pieces so that records and
/// lines straddle refills.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    private let step: Int

    init(_ bytes: [UInt8], step: Int) {
        self.bytes = bytes
        self.step = max(1, step)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TraceError) -> Int {
        let n = min(buffer.count, step, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { all in
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + n)]))
        }
        offset += n
        return n
    }

    var fractionRead: Double { bytes.isEmpty ? 1 : Double(offset) / Double(bytes.count) }
}

func fuzzTrace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 1 else { return 0 }
    let selector = data[0]
    let body = [UInt8](UnsafeBufferPointer(start: data + 1, count: size - 1))
    // Low 3 bits: the format; bit 3: through zstd; bits 4-7: the refill step and buffer size.
    let step = 1 + Int(selector >> 4) * 7
    let file = MemorySource(body, step: step)
    let source: any ByteSource
    if selector & 8 != 0 {
        guard let z = try? ZstdStreamSource(file, name: "fuzz.zst") else { return 0 }
        source = z
    } else {
        source = file
    }
    // A small buffer, so that the line-too-long and refill paths are reached.
    let input = BufferedInput(source, capacity: 64 + Int(selector >> 4) * 61)
    do {
        var reader: any TraceReader
        switch selector & 7 {
        case 0: reader = OracleGeneralReader(input, name: "fuzz", uncompressedSize: body.count)
        case 1: reader = CSVTraceReader(input, name: "fuzz", options: CSVTraceOptions())
        case 2: reader = CSVTraceReader(input, name: "fuzz", options: CSVTraceOptions(
            timeColumn: nil, idColumn: 3, sizeColumn: 1, hasHeader: true, delimiter: UInt8(ascii: ";")))
        case 3: reader = TextTraceReader(input, name: "fuzz")
        case 4: reader = try VSCSITraceReader(input, name: "fuzz", uncompressedSize: body.count)
        case 5: reader = LISTraceReader(input, name: "fuzz")
        default:
            var options = CSVTraceOptions()
            let text = String(decoding: body.prefix(40), as: UTF8.self)
            // Column maps typed on the command line.
            do { try CSVTraceOptions.parseColumns(text, into: &options) } catch {}
            reader = CSVTraceReader(input, name: "fuzz", options: options)
        }
        var count = 0
        while count < 20_000, let r = try reader.next() {
            guard r.size >= 0 else { fatalError("negative size \(r.size)") }
            count += 1
        }
    } catch {
        // A clear error for a bad trace is the expected outcome.
        guard !error.message.isEmpty else { fatalError("empty error message") }
    }
    return 0
}

runFuzzer { data, size in fuzzTrace(data, size) }
