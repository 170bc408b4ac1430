import ArgumentParser
import Foundation
import LogCache

/// `cachectl export DIR [--output FILE]`
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every live entry as JSON Lines.",
        discussion: """
            One object per line, in log order: {"key": …, "value": base64, "expiresAt": \
            seconds since 1970 or null}. A key that is not UTF-8 is written in base64 with \
            "keyEncoding": "base64"; a value written with a type (text, json or pickle, as \
            the Python package writes them) has "type": its name. Expired and damaged entries are left out. `cachectl \
            import` reads the same format, so export and import copy a store, with the same \
            expiry moments, into a store of other settings.

            Examples:
              cachectl export /var/cache/app --output app.jsonl
              cachectl export /var/cache/app | gzip > app.jsonl.gz
              cachectl export /var/cache/old | cachectl import /var/cache/new
            """
    )

    @OptionGroup var store: StoreArguments

    @Option(help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        let store = try store.openExisting()
        let out = try output.map { try BufferedOutput(creating: $0) } ?? .standardOutput()
        let progress = Progress("export", total: store.statistics.entries, unit: .items)
        var failure: (any Error)?
        var count = 0
        try store.forEachValue { entry, value in
            let key = KeyText(entry.key)
            var line = "{\"key\":" + jsonString(key.text)
            if key.isBase64 { line += ",\"keyEncoding\":\"base64\"" }
            line += ",\"value\":\"" + Data(value).base64EncodedString() + "\",\"expiresAt\":"
            line += entry.expiresAt.map { secondsText(milliseconds: $0) } ?? "null"
            if entry.valueType != .bytes { line += ",\"type\":\"\(entry.valueType)\"" }
            line += "}\n"
            do {
                try out.write(line)
            } catch {
                failure = error
                return false
            }
            count += 1
            progress.update(count)
            return true
        }
        progress.finish()
        try store.close()
        if let failure { throw failure }
        try out.finish()
    }
}
