/// Why a size given on the command line is not one.
struct ByteSizeError: Error, CustomStringConvertible {
    let text: String

    var description: String {
        "'\(text)' is not a size: give bytes, or a number with KiB, MiB, GiB, TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000)"
    }
}

private let byteSizeUnits: [(suffix: String, factor: Double)] = [
    ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
    ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("b", 1),
]

/// Bytes in a size such as `4096`, `64MiB`, `1.5 GiB` or `500MB` (units in any case).
///
/// Fractions are allowed with a unit and rounded down to whole bytes; negative sizes and
/// sizes beyond `Int.max` are refused.
func parseByteSize(_ text: String) throws -> Int {
    let trimmed = String(trimmedWhitespace(Substring(text))).lowercased()
    var number = Substring(trimmed)
    var factor = 1.0
    for unit in byteSizeUnits where trimmed.hasSuffix(unit.suffix) {
        number = trimmed.dropLast(unit.suffix.count)
        factor = unit.factor
        break
    }
    let digits = trimmedWhitespace(number)
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
        throw ByteSizeError(text: text)
    }
    if factor == 1, let whole = Int(digits) { return whole }
    guard let value = Double(digits), value.isFinite else { throw ByteSizeError(text: text) }
    let bytes = (value * factor).rounded(.down)
    guard bytes >= 0, bytes < 9.2e18 else { throw ByteSizeError(text: text) }
    return Int(bytes)
}

private func trimmedWhitespace(_ text: Substring) -> Substring {
    let start = text.drop(while: \.isWhitespace)
    return start.dropLast(start.reversed().prefix(while: \.isWhitespace).count)
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
