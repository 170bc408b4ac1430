// libFuzzer target: a whole store directory built from the input, opened, written,
// reopened and repaired: the open path (StoreOpening) and fsck --repair (StoreCheck) on
// hostile files, not just the pure decoders.
//
// The input is four length-prefixed parts: MANIFEST, 0000000001.idx, 0000000002.seg and,
// for the rest, 0000000001.seg; the checksums of the manifest and the index file are made
// right, so that mutations reach their fields. Invariants:
// - opening opens or throws a CacheError;
// - once open, a value written reads back, and after close, from a new open too;
// - repair (unless the store is of another format version) leaves no problem behind, and
//   the store opens afterwards with the written value still there (unless the store has a
//   capacity, whose eviction may take it).
import FuzzSupport
import LogCache

#if canImport(Glibc)
import Glibc
#endif

let root = "/dev/shm/logcache-fuzz-store-\(getpid())"
let dir = root + "/store"
mkdir(root, 0o700)

/// Removes every file of the store directory (and its lost+found) and the directory.
func clear() {
    for sub in [dir + "/lost+found", dir] {
        if let d = opendir(sub) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(sub + "/" + name) }
            }
            closedir(d)
        }
        rmdir(sub)
    }
}

func put(_ name: String, _ bytes: ArraySlice<UInt8>) {
    let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fatalError("cannot write the fuzz store") }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// The next part: a little-endian u16 length, then that many bytes (fewer at the end).
func part(_ input: [UInt8], _ at: inout Int) -> ArraySlice<UInt8> {
    guard at + 2 <= input.count else { at = input.count; return [] }
    let n = Int(input[at]) | Int(input[at + 1]) << 8
    let end = min(input.count, at + 2 + n)
    defer { at = end }
    return input[(at + 2)..<end]
}

/// `bytes` with the CRC-32C of all but its last four bytes written into them.
func checksummed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    guard bytes.count >= 4 else { return bytes }
    var b = Array(bytes)
    let crc = b.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<($0.count - 4)])) }
    withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { b[b.count - 4 + i] = $0[i] } }
    return b[...]
}

func fuzzStore(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    clear()
    mkdir(dir, 0o700)
    var at = 0
    put("MANIFEST", checksummed(part(input, &at)))
    put("0000000001.idx", checksummed(part(input, &at)))
    put("0000000002.seg", part(input, &at))
    put("0000000001.seg", input[at...])

    let key = "fuzz-written-key"
    let value: [UInt8] = Array("a value written after opening".utf8)
    var wrote = false
    var bounded = false
    var opened: CacheStore?
    do {
        let store = try CacheStore(directory: dir)
        opened = store
        // With a capacity, the records repair brings back into view can make the next open
        // evict the written value: that is eviction doing its work, not a lost record.
        bounded = store.settings.capacityBytes != nil || store.settings.capacityEntries != nil
        for i in 0..<8 { _ = try store.value(forKey: "key-\(i)") }
        // An explicit TTL: the manifest's default one may be a millisecond.
        try store.set(value, forKey: key, ttl: .seconds(86_400))
        guard try store.value(forKey: key) == value else { fatalError("a value just written does not read back") }
        try store.close()
        wrote = true
        let again = try CacheStore(directory: dir)
        guard try again.value(forKey: key) == value else { fatalError("a value written and closed does not read back") }
        try again.close()
    } catch {
        if wrote { fatalError("a store that opened and closed cannot be opened again: \(error)") }
        // A write the store refused (a record over its capacity, say): close it here rather
        // than leave its lock to whenever the handle is freed (a background pass may hold it).
        try? opened?.close()
    }
    do {
        let report = try StoreCheck.run(directory: dir, repair: true)
        guard report.remainingProblems ?? [] == [] else {
            fatalError("repair left problems: \(report.remainingProblems ?? [])")
        }
        let repaired = try CacheStore(directory: dir)
        if wrote, !bounded, try repaired.value(forKey: key) != value { fatalError("repair lost an intact record") }
        try repaired.close()
    } catch .incompatibleFormat {
        // A store of another format version is refused and left alone, by design.
    } catch {
        fatalError("repair or the open after it failed: \(error)")
    }
    return 0
}

// The scratch store goes when the fuzzer exits (at the end of its time, or on a failure).
atexit {
    clear()
    rmdir(root)
}
runFuzzer { data, size in fuzzStore(data, size) }
