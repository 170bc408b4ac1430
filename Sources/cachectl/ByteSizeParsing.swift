/// Sizes written the way people write them: `4096`, `64KiB`, `128MiB`, `1.5GiB`, `10GB`.
///
/// Binary units (KiB, MiB, GiB, TiB) are powers of 1024 and decimal ones (KB, MB, GB, TB)
/// powers of 1000; `B` or no unit means bytes. Units are case-insensitive; a space before the
/// unit is allowed. Fractions are allowed when the result is a whole number of bytes.
enum ByteSize {
    /// Why a size string was rejected.
    struct ParseError: Error, CustomStringConvertible, Equatable {
        let description: String
    }

    private static let units: [(String, Int)] = [
        ("tib", 1 << 40), ("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10),
        ("tb", 1_000_000_000_000), ("gb", 1_000_000_000), ("mb", 1_000_000), ("kb", 1_000), ("b", 1),
    ]

    /// The number of bytes `text` stands for; throws for anything that is not a positive size.
    static func parse(_ text: String) throws(ParseError) -> Int {
        let trimmed = text.trimmingCharacters(in: " ")
        let lower = trimmed.lowercased()
        var number = Substring(lower)
        var multiplier = 1
        for (unit, m) in units where lower.hasSuffix(unit) {
            number = lower.dropLast(unit.count)
            multiplier = m
            break
        }
        let digits = String(number).trimmingCharacters(in: " ")
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              digits.filter({ $0 == "." }).count <= 1 else {
            throw ParseError(description: "bad size \"\(text)\": expected a number with an optional unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. 128MiB")
        }
        if let whole = Int(digits) {
            let (bytes, overflow) = whole.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw ParseError(description: "size \"\(text)\" is too large") }
            guard bytes > 0 else { throw ParseError(description: "size \"\(text)\" must be more than zero") }
            return bytes
        }
        guard let value = Double(digits) else {
            throw ParseError(description: "bad size \"\(text)\": \"\(digits)\" is not a number")
        }
        let bytes = value * Double(multiplier)
        guard bytes < 9.0e18 else { throw ParseError(description: "size \"\(text)\" is too large") }
        guard bytes == bytes.rounded(.down) else {
            throw ParseError(description: "size \"\(text)\" is not a whole number of bytes")
        }
        guard bytes > 0 else { throw ParseError(description: "size \"\(text)\" must be more than zero") }
        return Int(bytes)
    }

    /// A positive object count (plain digits, optionally with `_` separators).
    static func parseCount(_ text: String) throws(ParseError) -> Int {
        let digits = text.trimmingCharacters(in: " ").filter { $0 != "_" }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ParseError(description: "bad object count \"\(text)\": expected a whole number (sizes need no --count-based)")
        }
        guard let n = Int(digits) else { throw ParseError(description: "object count \"\(text)\" is too large") }
        guard n > 0 else { throw ParseError(description: "object count \"\(text)\" must be more than zero") }
        return n
    }

    /// A comma-separated list of sizes (or counts when `counts`), in the order given.
    static func parseList(_ text: String, counts: Bool = false) throws(ParseError) -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var out: [Int] = []
        for part in parts {
            out.append(counts ? try parseCount(part) : try parse(part))
        }
        return out
    }

    /// `bytes` in the largest binary unit that divides it exactly ("128MiB", "1536B").
    static func format(_ bytes: Int) -> String {
        for (unit, m) in [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= m && bytes % m == 0 {
            return "\(bytes / m)\(unit)"
        }
        return "\(bytes)B"
    }
}

extension String {
    /// The string without leading and trailing `c`.
    fileprivate func trimmingCharacters(in c: Character) -> String {
        String(drop(while: { $0 == c }).reversed().drop(while: { $0 == c }).reversed())
    }
}

/// A size option's value in bytes: as ``ByteSize/parse(_:)``, and also `0` (for options
/// where zero means "none", such as the compression threshold).
func parseByteSize(_ text: String) throws -> Int {
    if text.trimmingCharacters(in: " ") == "0" { return 0 }
    return try ByteSize.parse(text)
}

/// A size for people: bytes below 1 KiB, else one decimal in the largest binary unit that fits
/// (`512 B`, `1.5 KiB`, `64.0 MiB`).
func formatByteSize(_ bytes: Int) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
    guard bytes >= 1024 || bytes <= -1024 else { return "\(bytes) B" }
    var value = Double(bytes) / 1024
    var unit = 0
    while abs(value) >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10)) \(units[unit])"
}
