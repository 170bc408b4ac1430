extension MemoError {
    /// The memo error for an encoding failure, naming the field it happened at.
    init(encodingError: EncodingError) {
        switch encodingError {
        case .invalidValue(_, let context):
            self = .unencodableKey(path: Self.pathText(context.codingPath), reason: context.debugDescription)
        @unknown default:
            self = .unencodableKey(path: "", reason: "\(encodingError)")
        }
    }

    /// `messages[2].content`: keys joined with dots, indexes in brackets.
    static func pathText(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == "\(index)" {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }
}
