import ArgumentParser
import LogCache

/// A TTL given in seconds on the command line (`--ttl`, `--default-ttl`), as whole
/// milliseconds rounded up.
///
/// Refused (a usage error, exit 2, naming the value): what is not a number, infinities and
/// NaN, zero and negative values, and TTLs that would make a value written now expire past
/// the latest moment a store keeps, 9999-12-31T23:59:59.999Z. The checks come before any
/// conversion, so no value typed can overflow the arithmetic.
func parseTTL(_ text: String) throws -> Duration {
    guard let seconds = Double(text) else { throw ValidationError("not a number of seconds") }
    guard seconds.isFinite else { throw ValidationError("a TTL must be a finite number of seconds") }
    guard seconds > 0 else { throw ValidationError("a TTL must be positive") }
    let longest = Limits.latestExpiry - max(0, nowMilliseconds())
    let milliseconds = (seconds * 1000).rounded(.up)
    guard milliseconds <= Double(longest) else {
        throw ValidationError("a TTL may be at most \(secondsText(milliseconds: longest)) seconds: the latest expiry a store keeps is 9999-12-31T23:59:59.999Z")
    }
    // In range, so the conversion cannot trap; at least 1 ms, so the TTL never becomes zero.
    return .milliseconds(max(1, Int64(milliseconds)))
}
