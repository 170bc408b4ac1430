import Foundation

/// The generated data of one workload, written for the Python replay of diskcache so that it
/// stores and asks for exactly what the Swift runner does.
///
/// Layout, little-endian: the magic `LCWL0001`; u32 number of pool values, each as u32 length
/// and bytes; u16 key-prefix length and prefix; u32 number of phases, each as u16 name length,
/// name, u64 count and that many u32. The value of a set of key `id` from pool entry `p` is
/// `pool[p]` with bytes 8..<24 replaced by the 16 hex digits of `id`; key `id` is the prefix and
/// the 16 hex digits of SplitMix64's finalizer applied to `id` (BenchData).
struct WorkloadFile {
    var pool: [[UInt8]]
    var prefix: [UInt8]
    var phases: [(name: String, values: [UInt32])]

    func write(to path: String) throws {
        var out = Data()
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { out.append(contentsOf: $0) } }
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: Array("LCWL0001".utf8))
        u32(pool.count)
        for v in pool { u32(v.count); out.append(contentsOf: v) }
        u16(prefix.count)
        out.append(contentsOf: prefix)
        u32(phases.count)
        for phase in phases {
            let name = Array(phase.name.utf8)
            u16(name.count)
            out.append(contentsOf: name)
            u64(phase.values.count)
            phase.values.withUnsafeBytes { out.append(contentsOf: $0) }   // little-endian host (x86_64, arm64)
        }
        try out.write(to: URL(fileURLWithPath: path))
    }
}
