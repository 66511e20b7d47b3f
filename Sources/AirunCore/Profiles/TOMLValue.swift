/// A parsed TOML value (the subset airun's profiles use: no dates or times).
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The TOML type name, for error messages: "string", "integer", …
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// Where something is in a file: 1-based line and column.
public struct SourcePosition: Equatable, Sendable {
    public var line: Int
    public var column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// A TOML table: keys in the order they were defined, and where each was defined.
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    public private(set) var values: [String: TOMLValue] = [:]
    public private(set) var positions: [String: SourcePosition] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? { values[key] }

    mutating func set(_ key: String, _ value: TOMLValue, at position: SourcePosition) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
        if positions[key] == nil { positions[key] = position }
    }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool { a.values == b.values }
}

/// A TOML syntax error: where, what, and how to fix it.
public struct TOMLError: Error, Equatable, Sendable {
    public var position: SourcePosition
    public var message: String
    public var hint: String?

    /// `file:line:column: message (hint)`
    public func describe(file: String) -> String {
        "\(file):\(position.line):\(position.column): \(message)" + (hint.map { " (\($0))" } ?? "")
    }
}
