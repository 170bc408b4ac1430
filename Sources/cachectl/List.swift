import ArgumentParser
import LogCache

/// `cachectl list DIR`
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List live keys with their sizes, age and expiry.",
        discussion: """
            Entries come in log order, oldest write first. Keys are not held in memory, so \
            listing reads the header and key of every live record; on a large store use \
            --prefix and --limit. Columns: value size, value size as stored (compressed), \
            age, expiry, key. A key that is not UTF-8 is shown in base64 after "base64:" \
            (with --json: "keyEncoding": "base64").

            --namespace lists the memoized results of one namespace (keys \
            memo/NAMESPACE/VERSION/HASH), of one version of it with --version as well; \
            `cachectl namespaces` shows which namespaces there are.

            Examples:
              cachectl list /var/cache/app
              cachectl list /var/cache/app --prefix user/ --limit 20
              cachectl list /var/cache/app --json | jq -r '.[].key'
              cachectl list /var/cache/llm --namespace chat --version 2
            """
    )

    @OptionGroup var store: StoreArguments

    @Option(help: "Only keys that start with this text.")
    var prefix: String = ""

    @Option(help: "At most this many entries.")
    var limit: Int?

    @OptionGroup var memo: NamespaceArguments

    @Flag(help: "Print a JSON array of objects: key, keyEncoding (for base64 keys), rawLength, storedLength, recordLength, createdAt and expiresAt (seconds since 1970, null for never).")
    var json = false

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative.") }
        if memo.namespace != nil && !prefix.isEmpty {
            throw ValidationError("--prefix and --namespace cannot be combined: a namespace is a prefix already.")
        }
    }

    func run() throws {
        let store = try store.openExisting()
        let out = BufferedOutput.standardOutput()
        let now = nowMilliseconds()
        var failure: (any Error)?
        var first = true
        if json {
            try out.write("[")
        } else {
            try out.write(pad("SIZE", 10) + " " + pad("STORED", 10) + " " + pad("AGE", 6) + " " + pad("EXPIRES", 8) + "  KEY\n")
        }
        try store.forEachEntry(prefix: Array((memo.prefix ?? prefix).utf8), limit: limit) { entry in
            do {
                try out.write(json ? (first ? "\n" : ",\n") + jsonLine(entry) : textLine(entry, now: now))
                first = false
                return true
            } catch {
                failure = error
                return false
            }
        }
        try store.close()
        if let failure { throw failure }
        if json { try out.write(first ? "]\n" : "\n]\n") }
        try out.finish()
    }

    private func jsonLine(_ e: EntryInfo) -> String {
        let key = KeyText(e.key)
        var line = "{\"key\":" + jsonString(key.text)
        if key.isBase64 { line += ",\"keyEncoding\":\"base64\"" }
        line += ",\"rawLength\":\(e.rawLength),\"storedLength\":\(e.storedLength),\"recordLength\":\(e.recordLength)"
        line += ",\"createdAt\":" + secondsText(milliseconds: e.createdAt)
        line += ",\"expiresAt\":" + (e.expiresAt.map { secondsText(milliseconds: $0) } ?? "null") + "}"
        return line
    }

    private func textLine(_ e: EntryInfo, now: Int64) -> String {
        let expires = e.expiresAt.map { "in " + durationText(milliseconds: difference($0, now)) } ?? "never"
        return pad(formatByteSize(e.rawLength), 10) + " " + pad(formatByteSize(e.storedLength), 10) + " "
            + pad(durationText(milliseconds: difference(now, e.createdAt)), 6) + " " + pad(expires, 8) + "  "
            + KeyText(e.key).display + "\n"
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
