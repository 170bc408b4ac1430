// Keys and values shared by the micro-benchmarks and the comparison runner. The runner
// also writes them into its workload file so that the Python replay stores exactly the
// same bytes; Scripts/diskcache_replay.py must follow the rules here.

/// SplitMix64: a tiny, well-mixed generator whose output is fixed by its seed, so that every
/// run and every store sees the same data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// SplitMix64's finalizer: a bijection of 64-bit integers, so distinct inputs stay distinct.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Key and value shapes.
public enum BenchData {
    /// Where a value carries the id of its key (bytes 8 ..< 24), so that every stored value is
    /// distinct and a read can be checked against the key it was asked for.
    public static let stampRange = 8..<24

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The 16 lowercase hexadecimal digits of `x`.
    public static func hex16(_ x: UInt64) -> [UInt8] {
        (0..<16).map { i in hexDigits[Int((x >> UInt64(60 - 4 * i)) & 0xF)] }
    }

    /// Key number `id`: the prefix, then the hash of `id` in hexadecimal. Hashed rather than
    /// counted so that keys arrive in random order, as cache keys (digests of requests) do.
    public static func key(prefix: [UInt8], id: Int) -> [UInt8] {
        prefix + hex16(SplitMix64.mix(UInt64(id)))
    }

    /// Writes the id of key `id` into `value` (which must be at least 24 bytes long).
    @inline(__always)
    public static func stamp(_ value: inout [UInt8], id: Int) {
        let digits = hex16(UInt64(id))
        value.withUnsafeMutableBufferPointer { v in
            for i in 0..<16 { v[stampRange.lowerBound + i] = digits[i] }
        }
    }

    /// `pool[index]` stamped with key `id`: the value a set of key `id` stores.
    public static func value(pool: [[UInt8]], index: Int, id: Int) -> [UInt8] {
        var v = pool[index]
        stamp(&v, id: id)
        return v
    }

    /// Text the compressible half of a value is cut from.
    private static let phrase = Array("\"status\": \"ok\", \"user_id\": 1042, \"region\": \"eu-west\", \"tier\": \"gold\", ".utf8)

    /// `count` values of `size` bytes that compress to about half: 32-byte runs of text
    /// alternate with 32 random bytes, like records that mix field names and identifiers.
    public static func halfCompressible(count: Int, size: Int, seed: UInt64) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var random = rng.next()
            var left = 8
            var text = Int(rng.next() % UInt64(phrase.count))
            return (0..<max(size, stampRange.upperBound)).map { j in
                if (j / 32) % 2 == 0 {
                    text += 1
                    return phrase[text % phrase.count]
                }
                if left == 0 { random = rng.next(); left = 8 }
                left -= 1
                defer { random >>= 8 }
                return UInt8(truncatingIfNeeded: random)
            }
        }
    }

    /// `count` JSON documents between `minSize` and `maxSize` bytes shaped like a chat
    /// completion with token log-probabilities: long and very repetitive, the kind of payload
    /// that LLM response caches hold. Each begins `{"id": "` and 16 placeholder digits, so
    /// that stamping keeps it valid JSON.
    public static func jsonDocuments(count: Int, minSize: Int, maxSize: Int, seed: UInt64) -> [[UInt8]] {
        let words = ["the", " cache", " stores", " each", " response", " so", " that", " a", " second",
                     " run", " of", " the", " batch", " job", " costs", " nothing", ".", " It", " keeps",
                     " results", " on", " disk", ",", " compressed", " and", " checked", " before", " use"]
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { n in
            let target = minSize + Int(rng.next() % UInt64(maxSize - minSize + 1))
            var text = "{\"id\": \"0000000000000000\", \"object\": \"chat.completion\", \"created\": \(1_730_000_000 + n), "
            text += "\"model\": \"gpt-4o-2024-08-06\", \"choices\": [{\"index\": 0, \"logprobs\": {\"content\": ["
            var content = ""
            var first = true
            var w = 0
            while text.utf8.count + content.utf8.count < target - 400 {
                // Mostly the same sentence over and over, now and then a word skipped, as
                // generated text repeats itself; that is what makes such payloads compress so well.
                w = (w + (rng.next() % 16 == 0 ? 2 : 1)) % words.count
                let word = words[w]
                let lp = Int(rng.next() % 4)
                let escaped = word.replacingOccurrences(of: "\"", with: "\\\"")
                if !first { text += ", " }
                first = false
                text += "{\"token\": \"\(escaped)\", \"logprob\": -0.\(lp < 10 ? "0" : "")\(lp), "
                text += "\"bytes\": [\(word.utf8.map { String($0) }.joined(separator: ", "))], \"top_logprobs\": []}"
                content += escaped
            }
            text += "]}, \"message\": {\"role\": \"assistant\", \"content\": \"\(content)\"}, \"finish_reason\": \"stop\"}], "
            text += "\"usage\": {\"prompt_tokens\": 812, \"completion_tokens\": 1904, \"total_tokens\": 2716}}"
            return Array(text.utf8)
        }
    }
}
