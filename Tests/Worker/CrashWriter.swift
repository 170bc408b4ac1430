import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// The workload of one writer process in the crash loop (`crash-writer`): random sets,
/// removes and batches (and, with a single writer, an occasional removeAll) over its own key
/// space, forever, until the driver kills it. Now and then it closes the store and opens it
/// again, so that kills also land in close (index and POLICY files being written) and in
/// recovery.
///
/// Before each operation it prints "begin OP ..." and after it returns "ack", each line with
/// one write(2), so the lines reach the driver's log file even when the process is killed
/// between them: a begun but unacknowledged operation may or may not have taken effect.
struct CrashWriter {
    var store: CacheStore
    var directory: String
    var options: Options
    var writer: Int
    var keys: Int
    var version: Int64
    var random: CrashRandom
    var allowClear: Bool

    mutating func run() throws(CacheError) -> Never {
        while true {
            let roll = random.next() % 1000
            if roll < 3 {
                say("begin reopen")
                try store.close()
                store = try CacheStore(directory: directory, options: options)
            } else if roll < 700 {
                let key = crashKey(writer: writer, index: Int(random.next() % UInt64(keys)))
                version += 1
                say("begin set \(key) \(version)")
                try store.set(crashValue(key: key, version: version), forKey: key)
            } else if roll < 850 {
                let key = crashKey(writer: writer, index: Int(random.next() % UInt64(keys)))
                say("begin del \(key)")
                try store.removeValue(forKey: key)
            } else if roll < 999 || !allowClear {
                var batch: [String: [UInt8]] = [:]
                var described: [String] = []
                for _ in 0..<(2 + random.next() % 8) {
                    let key = crashKey(writer: writer, index: Int(random.next() % UInt64(keys)))
                    guard batch[key] == nil else { continue }
                    version += 1
                    batch[key] = crashValue(key: key, version: version)
                    described.append("\(key):\(version)")
                }
                say("begin batch \(described.joined(separator: ","))")
                try store.setValues(batch)
            } else {
                say("begin clear")
                try store.removeAll()
            }
            say("ack")
        }
    }
}

/// The name of key `index` of writer `writer`: writers never share a key, so each key's
/// history is one sequence of operations.
func crashKey(writer: Int, index: Int) -> String { "w\(writer)-k\(index)" }

/// The value a key holds at `version`: its length and bytes follow from both, so a reader can
/// tell which version it read, and a value of another key or version never matches.
func crashValue(key: String, version: Int64) -> [UInt8] {
    var r = CrashRandom(seed: UInt64(bitPattern: version) &* 0x9E37_79B9_7F4A_7C15 ^ fnv1a(key))
    let length = Int(r.next() % 1500) + 1
    // Half of the values compress well, half do not.
    if version % 2 == 0 {
        let word = Array("\(key)@\(version);".utf8)
        return (0..<length).map { word[$0 % word.count] }
    }
    return (0..<length).map { _ in UInt8(truncatingIfNeeded: r.next()) }
}

func fnv1a(_ text: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

/// SplitMix64: the crash loop's only source of randomness, so a seed replays a run's choices.
struct CrashRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The store settings of a crash-loop run; the writers and the driver's checks use the same.
struct CrashSettings {
    var durability: String
    var capacity: Int?
    var compaction: Bool

    func options() throws(CacheError) -> Options {
        let mode: Durability
        switch durability {
        case "sync": mode = .syncEveryWrite
        case "none": mode = .none
        case "interval": mode = .syncInterval(.milliseconds(20))
        default: throw .invalidOption("durability must be sync, none or interval, not \(durability)")
        }
        // Background compaction with triggers low enough that short runs compact often: every
        // writer may be killed in the middle of a pass.
        let compacting = compaction
            ? CompactionOptions(automatic: true, triggerDeadFraction: 0.3, triggerDeadBytes: 256 << 10, selectDeadFraction: 0.2)
            : CompactionOptions.manual
        return Options(compression: .zstd(level: 1), segmentSize: 256 << 10, capacity: capacity, policy: .lru,
                       durability: mode, compaction: compacting)
    }
}
