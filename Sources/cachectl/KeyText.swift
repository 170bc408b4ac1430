import Foundation

/// How a key is shown and written: as text when its bytes are UTF-8, else as base64, because
/// keys may be any bytes and output must stay text.
struct KeyText {
    /// The key as text, or its bytes in base64.
    let text: String
    /// True when `text` is base64.
    let isBase64: Bool

    init(_ key: [UInt8]) {
        if let s = String(validating: key, as: UTF8.self) {
            text = s
            isBase64 = false
        } else {
            text = Data(key).base64EncodedString()
            isBase64 = true
        }
    }

    /// For a terminal: control characters escaped, so a key cannot move the cursor or
    /// clear the screen; base64 keys marked with a `base64:` prefix.
    var display: String {
        if isBase64 { return "base64:" + text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
