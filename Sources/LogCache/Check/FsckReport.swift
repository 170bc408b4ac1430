/// What ``StoreCheck`` found in a store, and what it did about it when asked to repair.
///
/// Counts describe the store as it was found; `remainingProblems` describes it after repair.
public struct FsckReport: Sendable, Equatable, Codable {
    /// One thing wrong, where it is.
    public struct Problem: Sendable, Equatable, Codable, CustomStringConvertible {
        /// The file's name inside the store directory.
        public var file: String
        /// Byte offset in the file, when the problem has one.
        public var offset: Int?
        /// What is wrong, in words.
        public var what: String

        /// A problem in `file`, at `offset` when it has one.
        public init(file: String, offset: Int? = nil, what: String) {
            self.file = file
            self.offset = offset
            self.what = what
        }

        /// "FILE at offset N: what", for people.
        public var description: String {
            offset.map { "\(file) at offset \($0): \(what)" } ?? "\(file): \(what)"
        }
    }

    /// True when nothing was wrong.
    public var ok: Bool { problems.isEmpty }
    /// Segment files read.
    public var segments = 0
    /// Good records in them (values and tombstones).
    public var records = 0
    /// Damaged runs in the middle of segments (each one or more records that fail their
    /// checks) plus records whose value does not decompress to its raw length.
    public var corruptRecords = 0
    /// Bytes after the last good record of segments: torn writes or appended garbage.
    public var tornTailBytes = 0
    /// Segments the manifest lists whose file is gone.
    public var missingSegments = 0
    /// Index files written anew by repair.
    public var indexFilesRebuilt = 0
    /// Segments rewritten or cut short by repair.
    public var segmentsRewritten = 0
    /// Whether repair wrote a new manifest.
    public var manifestRebuilt = false
    /// Whether repair changed anything.
    public var repaired = false
    /// Bytes repair moved into `lost+found/`.
    public var quarantinedBytes = 0
    /// Files repair wrote or moved into `lost+found/`, relative to the store directory.
    public var lostAndFound: [String] = []
    /// Everything found wrong, in the order it was found.
    public var problems: [Problem] = []
    /// What repair did, one sentence each.
    public var actions: [String] = []
    /// What a check after repair still found; nil when no repair was asked for.
    public var remainingProblems: [Problem]?

    /// An empty report: nothing read, nothing found.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case ok, segments, records, corruptRecords, tornTailBytes, missingSegments, indexFilesRebuilt,
             segmentsRewritten, manifestRebuilt, repaired, quarantinedBytes, lostAndFound, problems, actions,
             remainingProblems
    }

    /// Reads a report a script saved; `ok` is derived from `problems`, as when it was written.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        segments = try c.decode(Int.self, forKey: .segments)
        records = try c.decode(Int.self, forKey: .records)
        corruptRecords = try c.decode(Int.self, forKey: .corruptRecords)
        tornTailBytes = try c.decode(Int.self, forKey: .tornTailBytes)
        missingSegments = try c.decode(Int.self, forKey: .missingSegments)
        indexFilesRebuilt = try c.decode(Int.self, forKey: .indexFilesRebuilt)
        segmentsRewritten = try c.decode(Int.self, forKey: .segmentsRewritten)
        manifestRebuilt = try c.decode(Bool.self, forKey: .manifestRebuilt)
        repaired = try c.decode(Bool.self, forKey: .repaired)
        quarantinedBytes = try c.decode(Int.self, forKey: .quarantinedBytes)
        lostAndFound = try c.decode([String].self, forKey: .lostAndFound)
        problems = try c.decode([Problem].self, forKey: .problems)
        actions = try c.decode([String].self, forKey: .actions)
        remainingProblems = try c.decodeIfPresent([Problem].self, forKey: .remainingProblems)
    }

    /// Writes every field, `ok` included, and `remainingProblems` only when repair ran.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(segments, forKey: .segments)
        try c.encode(records, forKey: .records)
        try c.encode(corruptRecords, forKey: .corruptRecords)
        try c.encode(tornTailBytes, forKey: .tornTailBytes)
        try c.encode(missingSegments, forKey: .missingSegments)
        try c.encode(indexFilesRebuilt, forKey: .indexFilesRebuilt)
        try c.encode(segmentsRewritten, forKey: .segmentsRewritten)
        try c.encode(manifestRebuilt, forKey: .manifestRebuilt)
        try c.encode(repaired, forKey: .repaired)
        try c.encode(quarantinedBytes, forKey: .quarantinedBytes)
        try c.encode(lostAndFound, forKey: .lostAndFound)
        try c.encode(problems, forKey: .problems)
        try c.encode(actions, forKey: .actions)
        try c.encodeIfPresent(remainingProblems, forKey: .remainingProblems)
    }
}
