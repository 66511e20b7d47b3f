import AirunCore
import AirunSystem

/// airun's own commands: reserved first words (`airun -- classify` runs a program called
/// classify). The one list of their names; the compiler holds `command` to it.
enum CommandName: String, CaseIterable, Sendable {
    case classify, profile, gpu, config, stats, logs, trace, report, metrics, export, health, completion

    /// The command's description, parser and action.
    var command: Subcommand {
        switch self {
        case .classify: ClassifyCommand.command
        case .profile: ProfileCommand.command
        case .gpu: GPUCommand.command
        case .config: ConfigCommand.command
        case .stats: StatsCommand.command
        case .logs: LogsCommand.command
        case .trace: TraceCommand.command
        case .report: ReportCommand.command
        case .metrics: MetricsCommand.command
        case .export: ExportCommand.command
        case .health: HealthCommand.command
        case .completion: CompletionCommand.command
        }
    }
}

/// A command with its description's types erased: what the table, `help` and completion need.
struct Subcommand: Sendable {
    let name: String
    let summary: String
    let help: String
    let usage: String
    let completion: CompletionEntry
    let run: @Sendable ([String]) -> Int32

    /// `values` makes the defaults; `run` gets them parsed, and may throw a usage error of its own
    /// (a missing required option), which prints the usage line as a parse error does.
    init<V>(_ d: CommandDescription<V>, values: @escaping @Sendable () -> V, run: @escaping @Sendable (V) throws(UsageError) -> Int32) {
        name = d.name
        summary = d.summary
        help = d.help
        usage = d.usage
        completion = CompletionEntry(d)
        self.run = { arguments in
            do throws(UsageError) {
                var v = values()
                try d.parse(arguments, into: &v)
                return try run(v)
            } catch {
                printError("airun: \(d.name): \(error.message)\n\(d.usage)")
                return ExitCode.airunFailure
            }
        }
    }
}

/// Runs `arguments` if they name a command (or `help`); nil when they are a run. Each command
/// prints its help for `-h`/`--help` anywhere before `--`, and for `airun help NAME`.
func runSubcommand(_ arguments: [String]) -> Int32? {
    // A run, the common case, pays one string switch here, not the table's construction.
    guard let first = arguments.first, first == "help" || CommandName(rawValue: first) != nil else { return nil }
    func out(_ text: String) -> Int32 {
        try? FileDescriptor.standardOutput.writeAll(text.hasSuffix("\n") ? text : text + "\n")
        return 0
    }
    if first == "help" {
        let rest = arguments.dropFirst()
        guard let topic = rest.first else { return out(helpText) }
        if let name = CommandName(rawValue: topic) { return out(name.command.help) }
        if topic == "run" && rest.count == 1 { return out(helpText) }
        let names = CommandName.allCases.map(\.rawValue)
        let hint = nearestOption(topic, among: names).map { " (did you mean \($0)?)" } ?? ""
        printError("airun: help: no command '\(escapingControlCharacters(topic))'\(hint); commands: \(names.joined(separator: ", "))")
        return ExitCode.airunFailure
    }
    guard let command = CommandName(rawValue: first)?.command else { return nil }
    let rest = Array(arguments.dropFirst())
    if rest.prefix(while: { $0 != "--" }).contains(where: { $0 == "-h" || $0 == "--help" }) { return out(command.help) }
    return command.run(rest)
}

/// `airun --help`'s list of commands, from their descriptions.
func commandList() -> String {
    helpLines(CommandName.allCases.map { name in
        let command = name.command
        return HelpLine(left: "airun \(name.rawValue)" + (name == .trace ? " ID" : ""), help: command.summary)
    })
}
