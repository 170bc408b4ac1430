import Foundation

/// `s` as a JSON string literal, quotes included.
func jsonString(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// Milliseconds since 1970 as seconds with exactly three decimals (`1700000000.250`), so that
/// the value reads back to the same millisecond.
func secondsText(milliseconds ms: Int64) -> String {
    // The magnitude, so that a moment before 1970 (a record may claim one) prints as
    // `-0.250` rather than misplacing the sign; UInt64 holds even Int64.min's magnitude.
    let magnitude = ms.magnitude
    let fraction = String(magnitude % 1000)
    return (ms < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}

/// `a - b`, saturating instead of trapping: both may come from a record's header.
func difference(_ a: Int64, _ b: Int64) -> Int64 {
    let (d, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? .max : .min) : d
}

/// The time since 1970 now, in milliseconds.
func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

/// A span of time for people, in its largest whole unit: `45s`, `12m`, `3h`, `5d`.
func durationText(milliseconds ms: Int64) -> String {
    let s = max(0, ms / 1000)
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m" }
    if s < 86_400 { return "\(s / 3600)h" }
    return "\(s / 86_400)d"
}

/// "1 segment", "3 segments".
func counted(_ n: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : pluralForm ?? singular + "s")
}

/// Seconds for a setting: whole seconds without decimals, else with milliseconds.
func settingSeconds(milliseconds ms: Int64) -> String {
    ms % 1000 == 0 ? "\(ms / 1000)" : secondsText(milliseconds: ms)
}

/// Prints `value` as one line of JSON with sorted keys: what every `--json` prints, so that
/// scripts can compare outputs.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints `rows` as two columns, the names padded to the longest.
func printFields(_ rows: [(String, String)]) {
    let width = rows.map(\.0.count).max() ?? 0
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
}
