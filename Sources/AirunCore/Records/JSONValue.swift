/// A JSON value as the record reader sees it. Numbers keep whether they were written as integers,
/// so an `Int64` field round-trips exactly.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object: its members in order, looked up by key (the last of a repeated key wins).
public struct JSONObject: Equatable, Sendable {
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
    }
    public private(set) var members: [Member] = []
    /// Built once an object has more members than a scan is cheaper for (a projection keeps a few).
    private var index: [String: Int]?

    public init() {}

    public mutating func append(_ key: String, _ value: JSONValue) {
        if index == nil && members.count == 16 {
            index = Dictionary(members.enumerated().map { ($0.element.key, $0.offset) }, uniquingKeysWith: { _, later in later })
        }
        index?[key] = members.count
        members.append(Member(key: key, value: value))
    }

    public subscript(key: String) -> JSONValue? {
        if let index { return index[key].map { members[$0].value } }
        // The last of a repeated key wins, as with the index.
        return members.last { $0.key == key }?.value
    }
    public var keys: [String] { members.map(\.key) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.members == b.members }

    // Typed reads: a missing key, `null` or a value of another type all read as nil, so a record
    // from another version (a field that changed type) degrades to a missing field.
    public func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }

    public func int(_ key: String) -> Int64? {
        switch self[key] {
        case .integer(let n)?: return n
        case .number(let d)? where d == d.rounded() && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }

    public func double(_ key: String) -> Double? {
        switch self[key] {
        case .integer(let n)?: return Double(n)
        case .number(let d)?: return d
        default: return nil
        }
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = self[key] { return b }
        return nil
    }

    public func strings(_ key: String) -> [String]? {
        guard case .array(let items)? = self[key] else { return nil }
        return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    public func object(_ key: String) -> JSONObject? {
        if case .object(let o)? = self[key] { return o }
        return nil
    }
}

/// Why a line is not JSON, with the byte offset where the reader gave up.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public var offset: Int
    public var message: String
}
