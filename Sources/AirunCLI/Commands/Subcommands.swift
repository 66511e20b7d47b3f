import AirunCore
import AirunSystem

/// A command of airun's own (`airun classify …`): reserved first words; `airun -- classify` runs
/// a program called classify. Each prints its help for `-h`/`--help` anywhere before `--`, and
/// for `airun help NAME`.
struct Subcommand: Sendable {
    var name: String
    var help: String
    var run: @Sendable ([String]) -> Int32
}

let subcommands: [Subcommand] = [
    Subcommand(name: "classify", help: ClassifyCommand.help) { arguments in
        do throws(UsageError) {
            return try ClassifyCommand(arguments).run()
        } catch {
            printError("airun: \(error.message)\n\(ClassifyCommand.usage)")
            return ExitCode.airunFailure
        }
    },
    Subcommand(name: "profile", help: ProfileCommand.help, run: ProfileCommand.run),
    Subcommand(name: "gpu", help: GPUCommand.help, run: GPUCommand.run),
    Subcommand(name: "config", help: ConfigCommand.help, run: ConfigCommand.run),
    Subcommand(name: "stats", help: StatsCommand.help, run: StatsCommand.run),
    Subcommand(name: "logs", help: LogsCommand.help, run: LogsCommand.run),
    Subcommand(name: "trace", help: TraceCommand.help, run: TraceCommand.run),
    Subcommand(name: "report", help: ReportCommand.help, run: ReportCommand.run),
    Subcommand(name: "metrics", help: MetricsCommand.help, run: MetricsCommand.run),
    Subcommand(name: "export", help: ExportCommand.help, run: ExportCommand.run),
]

/// Runs `arguments` if they name a subcommand (or `help`); nil when they are a run.
func runSubcommand(_ arguments: [String]) -> Int32? {
    // The reserved words are matched before the table (and its help texts) is built: a run, the
    // common case, should not pay for them (a Set here cost 120,000 instructions per run).
    switch arguments.first {
    case "help", "classify", "profile", "gpu", "config", "stats", "logs", "trace", "report", "metrics", "export": break
    default: return nil
    }
    guard let first = arguments.first else { return nil }
    func out(_ text: String) -> Int32 {
        try? FileDescriptor.standardOutput.writeAll(text.hasSuffix("\n") ? text : text + "\n")
        return 0
    }
    if first == "help" {
        let rest = arguments.dropFirst()
        guard let topic = rest.first else { return out(helpText) }
        if let command = subcommands.first(where: { $0.name == topic }) { return out(command.help) }
        if topic == "run" && rest.count == 1 { return out(helpText) }
        let names = subcommands.map(\.name)
        let hint = nearestOption(topic, among: names).map { " (did you mean \($0)?)" } ?? ""
        printError("airun: help: no command '\(escapingControlCharacters(topic))'\(hint); commands: \(names.joined(separator: ", "))")
        return ExitCode.airunFailure
    }
    guard let command = subcommands.first(where: { $0.name == first }) else { return nil }
    let rest = Array(arguments.dropFirst())
    if rest.prefix(while: { $0 != "--" }).contains(where: { $0 == "-h" || $0 == "--help" }) { return out(command.help) }
    return command.run(rest)
}
