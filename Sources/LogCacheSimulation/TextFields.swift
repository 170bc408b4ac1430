/// Parsing helpers for the text trace formats, working on raw line bytes.
enum TextFields {
    /// The value of an unsigned decimal number filling all of `b`, nil if it is not one or overflows.
    @inline(__always)
    static func unsigned(_ b: UnsafeRawBufferPointer) -> UInt64? {
        if b.isEmpty { return nil }
        var v: UInt64 = 0
        for c in b {
            let d = c &- 48
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    /// A time field: an unsigned decimal, optionally with a fractional part (dropped).
    static func time(_ b: UnsafeRawBufferPointer) -> Int64? {
        var whole = b
        if let dot = b.firstIndex(of: UInt8(ascii: ".")) {
            let frac = UnsafeRawBufferPointer(rebasing: b[(dot + 1)...])
            if !frac.isEmpty && unsigned(frac) == nil { return nil }
            whole = UnsafeRawBufferPointer(rebasing: b[..<dot])
        }
        guard let v = unsigned(whole), v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }

    /// `b` without leading and trailing spaces and tabs, and without surrounding double quotes.
    static func trimmed(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lo = b.startIndex, hi = b.endIndex
        while lo < hi, b[lo] == 32 || b[lo] == 9 { lo += 1 }
        while hi > lo, b[hi - 1] == 32 || b[hi - 1] == 9 { hi -= 1 }
        if hi - lo >= 2, b[lo] == 34, b[hi - 1] == 34 { lo += 1; hi -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[lo..<hi])
    }

    /// Fields of `b` separated by `delimiter` (or by runs of blanks when `delimiter` is nil).
    static func split(_ b: UnsafeRawBufferPointer, delimiter: UInt8?) -> [UnsafeRawBufferPointer] {
        var out: [UnsafeRawBufferPointer] = []
        var i = b.startIndex
        if let d = delimiter {
            var fieldStart = i
            while i < b.endIndex {
                if b[i] == d {
                    out.append(UnsafeRawBufferPointer(rebasing: b[fieldStart..<i]))
                    fieldStart = i + 1
                }
                i += 1
            }
            out.append(UnsafeRawBufferPointer(rebasing: b[fieldStart..<b.endIndex]))
            return out
        }
        while i < b.endIndex {
            while i < b.endIndex, b[i] == 32 || b[i] == 9 { i += 1 }
            if i == b.endIndex { break }
            let s = i
            while i < b.endIndex, b[i] != 32 && b[i] != 9 { i += 1 }
            out.append(UnsafeRawBufferPointer(rebasing: b[s..<i]))
        }
        return out
    }

    /// Up to 40 bytes of `b` for an error message.
    static func show(_ b: UnsafeRawBufferPointer) -> String {
        let text = String(decoding: b.prefix(40), as: UTF8.self)
        return b.count > 40 ? "\"\(text)…\"" : "\"\(text)\""
    }

    /// An object id: the number itself when the field is one, otherwise a hash of its bytes.
    @inline(__always)
    static func objectID(_ b: UnsafeRawBufferPointer) -> UInt64 {
        unsigned(b) ?? hashObjectName(b)
    }
}
