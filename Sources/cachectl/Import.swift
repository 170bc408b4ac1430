import ArgumentParser
import Foundation
import LogCache

#if canImport(Glibc)
import Glibc
#endif

/// `cachectl import DIR [FILE]`
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add entries from JSON Lines, as export writes them.",
        discussion: """
            Each line is {"key": …, "value": base64, "expiresAt": seconds since 1970 or null}, \
            with "keyEncoding": "base64" when the key is given in base64; blank lines are \
            skipped. An entry keeps its expiry moment (null: it never expires; the store's \
            default TTL does not apply); entries already expired are skipped. The store is \
            created, with default settings, when DIR is missing or empty (use `cachectl init` \
            first for other settings).

            Entries are written in batches. At the first bad line import stops with exit 3 and \
            a message naming the line: every entry on the lines before it has been imported, \
            nothing from that line on. Use --dry-run to check a whole file first.

            Examples:
              cachectl import /var/cache/new app.jsonl
              cachectl export /var/cache/old | cachectl import /var/cache/new
              cachectl import /var/cache/new app.jsonl --dry-run
            """
    )

    @OptionGroup var store: StoreArguments

    @Argument(help: "The JSON Lines file (default: standard input).")
    var file: String?

    @Flag(help: "Check every line and write nothing.")
    var dryRun = false

    /// One line of an export.
    struct Line: Decodable {
        var key: String
        var keyEncoding: String?
        var value: String
        var expiresAt: Double?
        var type: String?
    }

    /// Batches are cut at this many entries or bytes, whichever comes first.
    static let batchEntries = 1000
    static let batchBytes = 16 << 20

    func run() throws {
        let path = file == "-" ? nil : file
        let source = path ?? "standard input"
        let fd: Int32 = path.map { open($0, O_RDONLY | O_CLOEXEC) } ?? 0
        guard fd >= 0 else { throw CommandFailure(message: "cannot open \(source): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        var st = stat()
        let total = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : 0
        // base64 takes 4 bytes per 3, plus the key and the field names.
        let reader = LineReader(fd: fd, name: source, maxLineLength: (Limits.maxValueLength / 3 + 1) * 4 + 4 * Limits.maxKeyLength + 4096)
        let store = dryRun ? nil : try store.openOrCreate()
        let progress = Progress("import", total: total, unit: .bytes)
        let decoder = JSONDecoder()
        let now = nowMilliseconds()
        var batch: [StoreEntry] = []
        var batchBytes = 0
        var imported = 0
        var lineNumber = 0
        while let line = try reader.next() {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let entry: StoreEntry
            switch parse(line, decoder: decoder) {
            case .success(let e):
                entry = e
            case .failure(let problem):
                if let store, !batch.isEmpty {
                    try store.setValues(batch)
                    imported += batch.count
                }
                progress.finish()
                try store?.close()
                let before = dryRun ? "nothing was written (--dry-run)"
                    : "\(counted(imported, "entry", "entries")) from the lines before it imported, nothing from this line on"
                throw CommandFailure(message: "\(source) line \(lineNumber): \(problem.what); \(before)")
            }
            progress.update(reader.consumed)
            if let e = entry.expiresAt, e <= now { continue }
            guard let store else { continue }
            batch.append(entry)
            batchBytes += entry.key.count + entry.value.count
            if batch.count >= Self.batchEntries || batchBytes >= Self.batchBytes {
                try store.setValues(batch)
                imported += batch.count
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
        }
        if let store {
            if !batch.isEmpty { try store.setValues(batch) }
            try store.close()
        }
        progress.finish()
    }

    /// Why a line is not an entry.
    struct LineProblem: Error {
        let what: String
    }

    private func parse(_ line: ArraySlice<UInt8>, decoder: JSONDecoder) -> Result<StoreEntry, LineProblem> {
        do throws(LineProblem) {
            return .success(try entry(line, decoder: decoder))
        } catch {
            return .failure(error)
        }
    }

    private func entry(_ line: ArraySlice<UInt8>, decoder: JSONDecoder) throws(LineProblem) -> StoreEntry {
        let decoded: Line
        do {
            decoded = try decoder.decode(Line.self, from: Data(line))
        } catch DecodingError.keyNotFound(let key, _) {
            throw LineProblem(what: "\"\(key.stringValue)\" is missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw LineProblem(what: "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw LineProblem(what: "not a JSON object")
        }
        let key: [UInt8]
        switch decoded.keyEncoding {
        case nil, "utf8":
            key = Array(decoded.key.utf8)
        case "base64":
            guard let bytes = Data(base64Encoded: decoded.key) else { throw LineProblem(what: "\"key\" is not valid base64") }
            key = [UInt8](bytes)
        case let other?:
            throw LineProblem(what: "\"keyEncoding\" is \"\(other)\"; it must be \"base64\" or \"utf8\"")
        }
        guard (1...Limits.maxKeyLength).contains(key.count) else {
            throw LineProblem(what: "the key is \(key.count) bytes long; keys are 1 to \(Limits.maxKeyLength) bytes")
        }
        guard let value = Data(base64Encoded: decoded.value) else { throw LineProblem(what: "\"value\" is not valid base64") }
        guard value.count <= Limits.maxValueLength else {
            throw LineProblem(what: "the value is \(value.count) bytes long, more than the limit of \(Limits.maxValueLength)")
        }
        var expiresAt: Int64?
        if let seconds = decoded.expiresAt {
            // Checked before the conversion, so no number in the file can overflow it.
            guard seconds.isFinite, seconds > 0, (seconds * 1000).rounded() <= Double(Limits.latestExpiry) else {
                throw LineProblem(what: "\"expiresAt\" is \(seconds); it must be seconds since 1970, at most \(secondsText(milliseconds: Limits.latestExpiry)) (9999-12-31T23:59:59.999Z), or null")
            }
            expiresAt = Int64((seconds * 1000).rounded())
        }
        var type = ValueType.bytes
        if let name = decoded.type {
            guard let named = ValueType.allCases.first(where: { $0.description == name }) else {
                throw LineProblem(what: "\"type\" is \"\(name)\"; it must be one of \(ValueType.allCases.map(\.description).joined(separator: ", "))")
            }
            type = named
        }
        return StoreEntry(key: key, value: [UInt8](value), expiresAt: expiresAt, type: type)
    }
}
