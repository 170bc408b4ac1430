import CZstd
import Foundation
import Testing
@testable import LogCache
import LogCacheSimulation

/// A scratch directory for one test, removed afterwards.
final class ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "logcache-trace-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func write(_ name: String, text: String) throws -> String { try write(name, Array(text.utf8)) }
}

/// zstd-compresses `bytes` with libzstd.
func zstdCompress(_ bytes: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
    let n = out.withUnsafeMutableBytes { o in
        bytes.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, o.count, i.baseAddress, i.count, 3) }
    }
    #expect(ZSTD_isError(n) == 0)
    return Array(out.prefix(n))
}

/// Little-endian encoding helpers for writing binary traces.
extension Array where Element == UInt8 {
    mutating func le<T: FixedWidthInteger>(_ v: T) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}

func readAll(_ trace: String, format: TraceFormat = .auto, csv: CSVTraceOptions = CSVTraceOptions()) throws -> [TraceRequest] {
    var reader = try TraceOpener.open(trace, format: format, csv: csv)
    var out: [TraceRequest] = []
    while let r = try reader.next() { out.append(r) }
    return out
}

func oracleRecords(_ requests: [TraceRequest]) -> [UInt8] {
    var b: [UInt8] = []
    for r in requests {
        b.le(UInt32(r.time)); b.le(r.id); b.le(UInt32(r.size)); b.le(r.nextAccess)
    }
    return b
}

@Suite struct TraceReaderTests {
    let sample = [TraceRequest(time: 1, id: 42_932_745, size: 512, nextAccess: 3),
                  TraceRequest(time: 1, id: 7, size: 6656, nextAccess: -1),
                  TraceRequest(time: 2, id: 42_932_745, size: 512, nextAccess: -1)]

    @Test func oracleGeneral() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("t.oracleGeneral.bin", oracleRecords(sample))
        #expect(try readAll(file) == sample)
        var reader = try TraceOpener.open(file)
        #expect(reader.knownRequestCount == 3)
        #expect(reader.hasNextAccess)
        _ = try reader.next()
    }

    @Test func oracleGeneralZstd() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("t.oracleGeneral.zst", zstdCompress(oracleRecords(sample)))
        #expect(try readAll(file) == sample)
    }

    @Test func largeZstdStreamsThroughSmallBuffers() throws {
        let dir = ScratchDirectory()
        let many = (0..<200_000).map { TraceRequest(time: Int64($0 / 100), id: UInt64($0 % 977), size: 4096, nextAccess: -1) }
        let file = try dir.write("big.oracleGeneral.bin.zst", zstdCompress(oracleRecords(many)))
        #expect(try readAll(file) == many)
    }

    @Test func truncatedRecordsAreReported() throws {
        let dir = ScratchDirectory()
        let bytes = oracleRecords(sample) + [1, 2, 3]
        let plain = try dir.write("cut.oracleGeneral.bin", bytes)
        #expect { try readAll(plain) } throws: { ($0 as? TraceError)?.message.contains("multiple of 24") == true }
        let zst = try dir.write("cut.oracleGeneral.bin.zst", zstdCompress(bytes))
        #expect { try readAll(zst) } throws: { ($0 as? TraceError)?.message.contains("truncated") == true }
    }

    @Test func truncatedZstdStreamIsReported() throws {
        let dir = ScratchDirectory()
        let many = (0..<10_000).map { TraceRequest(time: 0, id: UInt64($0), size: 1, nextAccess: -1) }
        let compressed = zstdCompress(oracleRecords(many))
        let file = try dir.write("cut.bin.zst", Array(compressed.prefix(compressed.count / 2)))
        #expect { try readAll(file) } throws: { ($0 as? TraceError)?.message.contains("truncated") == true }
        let garbage = try dir.write("garbage.bin.zst", Array("not zstd at all".utf8))
        #expect { try readAll(garbage) } throws: { ($0 as? TraceError)?.message.contains("zstd") == true }
    }

    @Test func csvWithColumnsAndHeader() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("t.csv", text: "ts,op,size,key\n10,get,100,5\n11.5,set,200,abc\n\n12,get,300,5\n")
        var options = CSVTraceOptions()
        options.hasHeader = true
        try CSVTraceOptions.parseColumns("time=1,op=2,size=3,id=4", into: &options)
        let got = try readAll(file, csv: options)
        #expect(got.map(\.time) == [10, 11, 12])
        #expect(got.map(\.size) == [100, 200, 300])
        #expect(got[0].id == 5 && got[2].id == 5)
        #expect(got[1].id == Array("abc".utf8).withUnsafeBytes { hashObjectName($0) })
    }

    @Test func csvErrorsNameTheLine() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("bad.csv", text: "1,5,100\n2,6,lots\n")
        #expect { try readAll(file) } throws: { error in
            let m = (error as? TraceError)?.message ?? ""
            return m.contains("line 2") && m.contains("lots")
        }
        let short = try dir.write("short.csv", text: "1,5\n")
        #expect { try readAll(short) } throws: { ($0 as? TraceError)?.message.contains("no size column 3") == true }
        var options = CSVTraceOptions()
        #expect(throws: TraceError.self) { try CSVTraceOptions.parseColumns("time=1,colour=2", into: &options) }
    }

    @Test func plainText() throws {
        let dir = ScratchDirectory()
        let file = try dir.write("t.txt", text: "17\r\nuser:42\n\n17\n")
        let got = try readAll(file)
        #expect(got.count == 3)
        #expect(got[0].id == 17 && got[2].id == 17)
        #expect(got[1].id == Array("user:42".utf8).withUnsafeBytes { hashObjectName($0) })
        #expect(got.allSatisfy { $0.size == 1 })
        #expect(got.map(\.time) == [0, 1, 2])
    }

    @Test func vscsiVersion1() throws {
        var b: [UInt8] = []
        for (i, (lbn, len, ts)) in [(UInt64(100), UInt32(4096), UInt64(5_000_000)), (200, 512, 7_500_000), (100, 4096, 9_000_000)].enumerated() {
            b.le(UInt32(i)); b.le(len); b.le(UInt32(1)); b.le(UInt16(0x28)); b.le(UInt16(0x100)); b.le(lbn); b.le(ts)
        }
        #expect(b.count == 96)
        let dir = ScratchDirectory()
        let got = try readAll(try dir.write("t.vscsi", b))
        #expect(got == [TraceRequest(time: 5, id: 100, size: 4096), TraceRequest(time: 7, id: 200, size: 512),
                        TraceRequest(time: 9, id: 100, size: 4096)])
    }

    @Test func vscsiVersion2() throws {
        var b: [UInt8] = []
        for (i, (lbn, len, ts)) in [(UInt64(300), UInt32(8192), UInt64(1_000_000)), (301, 1024, 2_000_000), (302, 512, 3_000_000)].enumerated() {
            b.le(UInt16(0x2A)); b.le(UInt16(0x200)); b.le(UInt32(i)); b.le(len); b.le(UInt32(1)); b.le(lbn); b.le(ts); b.le(UInt64(77))
        }
        #expect(b.count == 120)
        let dir = ScratchDirectory()
        let file = try dir.write("t.vscsi", b)
        #expect(try readAll(file).map(\.id) == [300, 301, 302])
        #expect(try readAll(file).map(\.size) == [8192, 1024, 512])
        let zst = try dir.write("t.vscsi.zst", zstdCompress(b))
        #expect(try readAll(zst).map(\.time) == [1, 2, 3])
        let junk = try dir.write("junk.vscsi", [UInt8](repeating: 0, count: 100))
        #expect { try readAll(junk) } throws: { ($0 as? TraceError)?.message.contains("not a vscsi trace") == true }
        let cut = try dir.write("cut.vscsi", Array(b.prefix(100)))
        #expect { try readAll(cut) } throws: { ($0 as? TraceError)?.message.contains("truncated") == true }
    }

    @Test func lisExpandsBlockRanges() throws {
        let dir = ScratchDirectory()
        let text = "100 3 0 1\n  200 1 0 2\n\n7 2 0 3\n"
        let file = try dir.write("t.lis", text: text)
        #expect(try readAll(file).map(\.id) == [100, 101, 102, 200, 7, 8])
        let zst = try dir.write("t.lis.zst", zstdCompress(Array(text.utf8)))
        #expect(try readAll(zst).map(\.id) == [100, 101, 102, 200, 7, 8])
        let bad = try dir.write("bad.lis", text: "100 3 0 1\nx 1 0 2\n")
        #expect { try readAll(bad) } throws: { ($0 as? TraceError)?.message.contains("line 2") == true }
    }

    @Test(.enabled(if: SharedTraces.exists(SharedTraces.oltp), "needs ../shared/traces/OLTP.lis.zst (not part of the project)"))
    func oltpTrace() throws {
        var reader = try TraceOpener.open(SharedTraces.oltp)
        var count = 0
        var distinct = Set<UInt64>()
        while let r = try reader.next() {
            count += 1
            distinct.insert(r.id)
        }
        #expect(count == 914_145)
        #expect(distinct.count == 186_880)
    }

    @Test(.enabled(if: SharedTraces.exists(SharedTraces.cloudPhysics), "needs ../shared/traces/cloudPhysicsIO.oracleGeneral.bin"))
    func cloudPhysicsHead() throws {
        var reader = try TraceOpener.open(SharedTraces.cloudPhysics)
        var first: [TraceRequest] = []
        while first.count < 6, let r = try reader.next() { first.append(r) }
        #expect(first.map(\.id) == [42932745, 42932746, 42932747, 40409911, 31954535, 6238199])
        #expect(first.map(\.size) == [512, 512, 512, 6656, 6144, 57344])
    }

    @Test func formatDetection() {
        #expect(TraceFormat.detect(path: "/x/cloudPhysicsIO.oracleGeneral.bin") == .oracleGeneral)
        #expect(TraceFormat.detect(path: "w.oracleGeneral.zst") == .oracleGeneral)
        #expect(TraceFormat.detect(path: "a.bin.zst") == .oracleGeneral)
        #expect(TraceFormat.detect(path: "OLTP.lis.zst") == .lis)
        #expect(TraceFormat.detect(path: "t.CSV") == .csv)
        #expect(TraceFormat.detect(path: "t.txt") == .txt)
        #expect(TraceFormat.detect(path: "t.vscsi") == .vscsi)
        #expect(TraceFormat.detect(path: "t.dat") == nil)
        #expect { try TraceOpener.open("t.dat") } throws: { ($0 as? TraceError)?.isUsage == true }
        #expect { try TraceOpener.open("/nonexistent/t.csv") } throws: { ($0 as? TraceError)?.isUsage == false }
    }
}

@Suite struct SyntheticTraceTests {
    func ids(_ spec: String) throws -> [UInt64] { try readAll(spec).map(\.id) }

    @Test func seededAndDeterministic() throws {
        let a = try ids("zipf:alpha=0.99,objects=1000,requests=5000,seed=1")
        #expect(a == (try ids("zipf:alpha=0.99,objects=1000,requests=5000,seed=1")))
        #expect(a != (try ids("zipf:alpha=0.99,objects=1000,requests=5000,seed=2")))
        #expect(a.count == 5000 && a.allSatisfy { $0 < 1000 })
        let u = try ids("uniform:objects=10,requests=1000,seed=5")
        #expect(Set(u) == Set(0..<10))
    }

    @Test func zipfIsSkewedAsSpecified() throws {
        let alpha = 1.0
        var counts = [Int](repeating: 0, count: 100)
        for id in try ids("zipf:alpha=\(alpha),objects=100,requests=200k,seed=3") { counts[Int(id)] += 1 }
        // P(k) ∝ 1/(k+1)^alpha: rank 0 twice as likely as rank 1, ten times rank 9.
        #expect(abs(Double(counts[0]) / Double(counts[1]) - 2) < 0.1)
        #expect(abs(Double(counts[0]) / Double(counts[9]) - 10) < 1)
        let harmonic = (1...100).reduce(0.0) { $0 + 1 / Double($1) }
        #expect(abs(Double(counts[0]) / 200_000 - 1 / harmonic) < 0.01)
    }

    @Test func loopScanAndSizes() throws {
        #expect(try ids("loop:objects=3,requests=7") == [0, 1, 2, 0, 1, 2, 0])
        #expect(try ids("scan:requests=4") == [0, 1, 2, 3])
        let sized = try readAll("uniform:objects=50,requests=2000,seed=4,size=100-200")
        var sizeOf: [UInt64: Int] = [:]
        for r in sized {
            #expect((100...200).contains(r.size))
            #expect(sizeOf[r.id, default: r.size] == r.size, "an object keeps one size")
            sizeOf[r.id] = r.size
        }
        #expect(Set(sizeOf.values).count > 10)
        #expect(try readAll("loop:objects=2,requests=2,size=4k").map(\.size) == [4000, 4000])
    }

    @Test func badSpecificationsAreUsageErrors() {
        for spec in ["zipf:alpha=0", "zipf:objects=-3", "uniform:requests=1x", "loop:colour=3", "scan:requests",
                     "zipf:size=9-2", "uniform:seed=abc"] {
            #expect(throws: TraceError.self, "\(spec)") { _ = try TraceOpener.open(spec) }
            #expect { try TraceOpener.open(spec) } throws: { ($0 as? TraceError)?.isUsage == true }
        }
    }
}
