import AirunCore

/// What an option's value is: how `--help` names it and what shell completion offers for it.
enum ValueKind: Sendable {
    /// Free text: nothing to offer.
    case text
    case file
    case directory
    /// One of these words. Made when completion asks, not when the table is built: every run
    /// builds the table, and a list like every error code's name costs a run that never asks.
    case choices(@Sendable () -> [String])
}

/// One option of a command: its names, its value (nil for a switch), its help, and what it does
/// to the command's values. Parsing, `--help`, did-you-mean and completions all read it.
struct Option<Values>: Sendable {
    var names: [String]
    /// The value's name in help (`DURATION`); nil for a switch.
    var value: String?
    var kind: ValueKind
    var help: String
    var apply: @Sendable (inout Values, String) throws(UsageError) -> Void

    init(_ names: [String], _ value: String? = nil, _ help: String, kind: ValueKind = .text,
         _ apply: @escaping @Sendable (inout Values, String) throws(UsageError) -> Void) {
        self.names = names
        self.value = value
        self.help = help
        self.kind = kind
        self.apply = apply
    }
}

/// The words a command takes besides its options (`trace ID`, `profile show NAME`).
struct Positionals<Values>: Sendable {
    /// How the synopsis names them: `ID`, `list | show NAME|PATH | check FILE...`.
    var synopsis: String
    /// Their lines in the help, before the options.
    var help: [(String, String)]
    /// Fixed words completion offers first (`list`, `show`, `check`); files after them.
    var words: [String]
    var completesFiles: Bool
    var apply: @Sendable (inout Values, String) throws(UsageError) -> Void
}

/// One of airun's commands, described once: from this come its parsing, its `--help`, its line
/// in `airun --help`, the suggestions for a mistyped option and the shell completions.
struct CommandDescription<Values>: Sendable {
    var name: String
    /// Its line in `airun --help`'s list of commands.
    var summary: String
    /// The first paragraph of its help (after `airun NAME: `).
    var about: String
    var positionals: Positionals<Values>?
    var options: [Option<Values>]
    /// What follows a `--` (classify's command); nil when `--` is not taken.
    var afterDashes: (synopsis: String, help: String, apply: @Sendable (inout Values, [String]) -> Void)?
    /// Paragraphs after the options (what a file looks like, the exit status).
    var notes: String = ""
    var examples: [String] = []

    /// `usage: airun stats [--since T] [--until T] … [--log-dir DIR]`
    var usage: String {
        var parts = ["usage: airun", name]
        if let positionals { parts.append(positionals.synopsis) }
        for option in options {
            parts.append("[" + option.names[option.names.count - 1] + (option.value.map { " " + $0 } ?? "") + "]")
        }
        if let afterDashes { parts.append("[-- \(afterDashes.synopsis)]") }
        return parts.joined(separator: " ")
    }

    var help: String {
        var text = "airun \(name): \(about)\n\n\(usage)\n\n"
        let positionalLines = positionals?.help.map { HelpLine(left: $0.0, help: $0.1) } ?? []
        let optionLines = options.map { HelpLine(left: $0.names.joined(separator: ", ") + ($0.value.map { " " + $0 } ?? ""), help: $0.help) }
        let dashLines = afterDashes.map { [HelpLine(left: "-- " + $0.synopsis, help: $0.help)] } ?? []
        let helpLine = [HelpLine(left: "-h, --help", help: "this help")]
        text += helpLines(positionalLines + optionLines + helpLine + dashLines) + "\n"
        if !notes.isEmpty { text += "\n" + notes + "\n" }
        if !examples.isEmpty {
            text += "\n" + (examples.count == 1 ? "example:" : "examples:") + "\n" + examples.map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        return text
    }

    var optionNames: [String] { options.flatMap(\.names) + ["-h", "--help"] }

    /// Parses `arguments` (after the command's name) into `values`. Options may come in any
    /// order and between the positional words; `--name=value` and `--name value` both work.
    func parse(_ arguments: [String], into values: inout Values) throws(UsageError) {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--" {
                guard let afterDashes else { throw UsageError("'--' is not taken here") }
                afterDashes.apply(&values, Array(arguments[(i + 1)...]))
                return
            }
            if arg.hasPrefix("-"), arg != "-" {
                try applyOption(options, arguments, at: &i, to: &values, names: optionNames)
                continue
            }
            guard let positionals else { throw UsageError("unexpected argument '\(escapingControlCharacters(arg))'") }
            try positionals.apply(&values, arg)
            i += 1
        }
    }
}

/// Applies the option at `arguments[i]` (and its value) to `values`, moving `i` past them.
func applyOption<Values>(_ options: [Option<Values>], _ arguments: [String], at i: inout Int, to values: inout Values,
                         names: [String]) throws(UsageError) {
    let arg = arguments[i]
    var name = arg
    var inline: String?
    if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
        name = String(arg[..<eq])
        inline = String(arg[arg.index(after: eq)...])
    }
    guard let option = options.first(where: { $0.names.contains(name) }) else { throw unknownOption(arg, names: names) }
    if option.value == nil {
        guard inline == nil else { throw UsageError("option \(name) takes no value (remove '=\(inline!)')") }
        try option.apply(&values, "")
    } else if let inline {
        try option.apply(&values, inline)
    } else {
        i += 1
        guard i < arguments.count else { throw UsageError("option \(name) needs a value") }
        try option.apply(&values, arguments[i])
    }
    i += 1
}

/// One line of a help's option list: what is typed, and what it does.
struct HelpLine {
    var left: String
    var help: String
}

/// Option lists, help text wrapped at 100 columns after a 26-column left side.
func helpLines(_ lines: [HelpLine]) -> String {
    let width = 26
    return lines.map { line in
        let left = "  " + line.left
        var wrapped: [String] = []
        var current = ""
        for word in line.help.split(separator: " ") {
            if !current.isEmpty, current.count + word.count + 1 > 100 - width { wrapped.append(current); current = "" }
            current += (current.isEmpty ? "" : " ") + word
        }
        wrapped.append(current)
        let first = left.count < width ? left.padding(to: width) + wrapped[0]
            : left + "\n" + String(repeating: " ", count: width) + wrapped[0]
        return ([first] + wrapped.dropFirst().map { String(repeating: " ", count: width) + $0 }).joined(separator: "\n")
    }.joined(separator: "\n")
}

/// The options `logs`, `trace`, `report`, `stats` and `metrics` share: which records, from where.
struct RecordSelection: Sendable {
    var logDir: String?
    var since: Int64?
    var until: Int64?

    func inWindow(_ record: Record) -> Bool {
        (since.map { record.timestampMicroseconds >= $0 } ?? true) && (until.map { record.timestampMicroseconds < $0 } ?? true)
    }

    var directory: String {
        let environment = Environment.current().values
        let settings = GlobalConfig.load(environment).config.log
        return resolveLogDirectory(flag: logDir, settings: settings, environment: environment)
    }

    /// `--since T` and `--until T`, relative times counted back from `now`.
    static func window<V>(_ path: any WritableKeyPath<V, RecordSelection> & Sendable, now: Int64) -> [Option<V>] {
        func bound(_ name: String, _ set: @escaping @Sendable (inout RecordSelection, Int64) -> Void) -> Option<V> {
            Option([name], "T", name == "--since" ? "only records from T: 2026-11-01, 2026-11-01T12:00:00Z, or 1h, 7d back"
                                                  : "only records before T (the same forms)") { v, text throws(UsageError) in
                guard let t = parseTimeBound(text, now: now) else { throw UsageError("\(name) '\(text)' is not a time (2026-11-01, 1h, 7d)") }
                set(&v[keyPath: path], t)
            }
        }
        return [bound("--since") { $0.since = $1 }, bound("--until") { $0.until = $1 }]
    }

    /// `--log-dir DIR`.
    static func logDirectory<V>(_ path: any WritableKeyPath<V, RecordSelection> & Sendable) -> Option<V> {
        Option(["--log-dir"], "DIR", "read DIR instead of the log directory", kind: .directory) { v, dir in v[keyPath: path].logDir = dir }
    }
}
