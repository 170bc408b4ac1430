/// The one text each number gets in a canonical encoding, whatever its Swift type.
///
/// - Integers of every width are written in decimal, `-` for negatives: `Int8(5)`,
///   `UInt64(5)` and `5.0` are all `5`.
/// - A floating-point value with no fractional part and a magnitude below 2^63 is written
///   as that integer; `-0.0` is `0`.
/// - Any other finite value is written from its shortest round-trip decimal digits (the
///   digits Swift's `description` prints, computed by the standard library the same way on
///   every platform) in one scientific form: one digit, an optional point and more digits
///   with no trailing zero, `e`, the exponent: `0.1` is `1e-1`, `1.5` is `1.5e0`, `1e300` is
///   `1e300`. A `Float` uses its own shortest digits, so `Float(0.1)` and `0.1` agree.
/// - NaN and infinities have no text: encoding them fails.
enum CanonicalNumber {
    /// The canonical text of an integer.
    static func text<T: BinaryInteger>(_ value: T) -> String { String(value) }

    /// The canonical text of a `Double`, or nil when it is not finite.
    static func text(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if let whole = integral(value) { return whole }
        return scientific(value.description)
    }

    /// The canonical text of a `Float`, or nil when it is not finite.
    static func text(_ value: Float) -> String? {
        guard value.isFinite else { return nil }
        if let whole = integral(Double(value)) { return whole }
        return scientific(value.description)
    }

    /// The integer text of a whole value of magnitude below 2^63.
    private static func integral(_ value: Double) -> String? {
        guard value.rounded(.towardZero) == value, abs(value) < 9_223_372_036_854_775_808.0 else { return nil }
        return String(Int64(value))
    }

    /// The canonical text of an exact decimal number such as `-123.4500`, `0.001`, `1.25e-07`
    /// or `42` (what `Decimal` prints): the integer rule for whole values below 2^63, the
    /// scientific form for the rest; nil for text that is not a plain decimal number.
    static func text(decimal text: String) -> String? {
        guard let (negative, digits, exponent) = parse(text) else { return nil }
        if digits.isEmpty { return "0" }
        if exponent >= 0, digits.count + exponent <= 19 {
            let whole = String(digits) + String(repeating: "0", count: exponent)
            if let magnitude = UInt64(whole), magnitude < 1 << 63 {
                return (negative ? "-" : "") + whole
            }
        }
        return scientific(text)
    }

    /// Rewrites a decimal text in the canonical scientific form; nil for text that is not a
    /// plain decimal number.
    static func scientific(_ text: String) -> String? {
        guard let (negative, digits, exponent) = parse(text) else { return nil }
        guard let first = digits.first else { return "0" }
        let rest = digits.dropFirst()
        // One digit before the point: the exponent grows by the digits moved after it.
        let shown = exponent + rest.count
        return (negative ? "-" : "") + String(first) + (rest.isEmpty ? "" : "." + String(rest)) + "e" + String(shown)
    }

    /// A decimal text as its sign, its significant digits (no leading or trailing zeros; none
    /// for zero) and the power of ten they are multiplied by.
    private static func parse(_ text: String) -> (negative: Bool, digits: [Character], exponent: Int)? {
        var chars = Substring(text)
        let negative = chars.first == "-"
        if negative { chars = chars.dropFirst() }
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let x = Int(chars[chars.index(after: e)...]) else { return nil }
            exponent = x
            chars = chars[..<e]
        }
        let parts = chars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, parts.count <= 2 else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), (whole + fraction).allSatisfy(\.isASCII),
              (whole + fraction).allSatisfy(\.isNumber)
        else { return nil }
        // value = digits × 10^(exponent − fraction.count)
        var digits = Array((whole + fraction).drop(while: { $0 == "0" }))
        exponent -= fraction.count
        while digits.last == "0" {
            digits.removeLast()
            exponent += 1
        }
        return (negative && !digits.isEmpty, digits, exponent)
    }
}
