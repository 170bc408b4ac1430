import Foundation

/// One line of the table: a figure measured on every store.
struct Row {
    let id: String
    let label: String
    let unit: String
    let higherIsBetter: Bool
    /// Figures by store title.
    var values: [String: Double] = [:]
    /// A reference figure that is not a store (the decompression floor, the disk's speed).
    var reference: (label: String, value: Double)?
    /// Words for the reference column where there is no reference figure.
    var note: String?
}

/// Every figure of a run, in the order the rows were declared.
final class Results {
    private(set) var rows: [Row] = []
    let stores: [String]

    init(stores: [String]) { self.stores = stores }

    func declare(_ id: String, _ label: String, unit: String, higherIsBetter: Bool) {
        if !rows.contains(where: { $0.id == id }) {
            rows.append(Row(id: id, label: label, unit: unit, higherIsBetter: higherIsBetter))
        }
    }

    func record(_ id: String, _ store: String, _ value: Double) {
        guard let i = rows.firstIndex(where: { $0.id == id }) else { fatalError("undeclared row \(id)") }
        rows[i].values[store] = value
    }

    func reference(_ id: String, _ label: String, _ value: Double) {
        guard let i = rows.firstIndex(where: { $0.id == id }) else { fatalError("undeclared row \(id)") }
        rows[i].reference = (label, value)
    }

    func note(_ id: String, _ text: String) {
        guard let i = rows.firstIndex(where: { $0.id == id }) else { fatalError("undeclared row \(id)") }
        rows[i].note = text
    }

    /// The table as Markdown: each store's figure and, beside each peer's, the ratio
    /// LogCache / peer (above 1 where higher is better means LogCache is ahead, below 1
    /// where lower is better). Variants of LogCache get no ratio: they are not peers.
    func markdown() -> String {
        let peers = stores.filter { $0 != "LogCache" }
        var lines = ["| workload | unit | better | LogCache | " + peers.joined(separator: " | ") + " | reference |",
                     "|---|---|---|---:|" + peers.map { _ in "---:" }.joined(separator: "|") + "|---|"]
        for row in rows {
            let mine = row.values["LogCache"]
            var cells = [row.label, row.unit, row.higherIsBetter ? "higher" : "lower", mine.map(format) ?? "–"]
            for peer in peers {
                guard let v = row.values[peer] else { cells.append("–"); continue }
                var cell = format(v)
                if let mine, v > 0, !peer.hasPrefix("LogCache") {
                    let ratio = mine / v
                    let ahead = row.higherIsBetter ? ratio > 1 : ratio < 1
                    cell += " (\(String(format: "%.2f", ratio))\(ahead ? "" : " ✗"))"
                }
                cells.append(cell)
            }
            cells.append(row.reference.map { "\($0.label): \(format($0.value))" } ?? row.note ?? "")
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    /// Every figure, for keeping a run's record.
    func json() throws -> Data {
        let object: [[String: Any]] = rows.map { row in
            var o: [String: Any] = ["id": row.id, "label": row.label, "unit": row.unit,
                                    "higherIsBetter": row.higherIsBetter, "values": row.values]
            if let r = row.reference { o["reference"] = [r.label: r.value] }
            if let n = row.note { o["note"] = n }
            return o
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

/// Three significant figures, with thousands separated, so that the table reads at a glance.
func format(_ x: Double) -> String {
    if x == 0 { return "0" }
    let magnitude = Int(floor(log10(abs(x))))
    let decimals = max(0, 2 - magnitude)
    let rounded = (x * pow(10, Double(decimals))).rounded() / pow(10, Double(decimals))
    if decimals > 0 { return String(format: "%.\(decimals)f", rounded) }
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.usesGroupingSeparator = true
    formatter.groupingSeparator = ","
    formatter.maximumFractionDigits = 0
    let significant = pow(10, Double(magnitude - 2))
    return formatter.string(from: NSNumber(value: (rounded / significant).rounded() * significant)) ?? "\(rounded)"
}
