import AirunCore
import AirunSystem

struct HealthOptions: Sendable {
    var selection = RecordSelection()
    var json = false
}

/// `airun health`: what runs remember of models (model-state.json beside the records): which are
/// cooling down and why, recent failures, and the edits that made them work.
enum HealthCommand {
    static var description: CommandDescription<HealthOptions> {
        CommandDescription(
            name: "health",
            summary: "the models cooling down after repeated failures, and the edits remembered",
            about: """
                what runs remember of the models they ran (docs/profiles.md, "Memory across runs"):
                which are cooling down after repeated failures and until when, their recent failures,
                and the argument values that made them work.
                """,
            options: [
                Option(["--json"], nil, "the state as airun keeps it (model-state.json)") { o, _ in o.json = true },
                RecordSelection.logDirectory(\HealthOptions.selection),
            ],
            examples: ["airun health", "airun health --json | jq '.models[] | select(.cooling_until != null)'"])
    }

    static let command = Subcommand(description, values: { HealthOptions() }, run: run)

    static func run(_ options: HealthOptions) -> Int32 {
        let states = ModelStateFile(logDirectory: options.selection.directory, console: Console(quiet: true, statusLine: false,
                                                                                                  redaction: SharedRedactor(Redactor()))).read()
        if options.json {
            try? FileDescriptor.standardOutput.writeAll(states.encoded())
            return 0
        }
        let now = wallClockMicroseconds()
        var out = states.models.isEmpty ? "no model state in \(options.selection.directory)\n" : ""
        for (model, state) in states.models.sorted(by: { $0.key < $1.key }) {
            out += escapingControlCharacters(model) + "\n"
            if let until = state.coolingUntil, until > now {
                out += "  cooling down until \(rfc3339(microseconds: until).prefix(19))Z: \(state.coolingReason ?? "")\n"
            } else if state.coolingUntil != nil {
                out += "  cool-down over" + (state.probeStarted != nil ? ": a run is trying it again" : ": the next run tries it") + "\n"
            }
            if let last = state.failures.last {
                out += "  \(state.failures.count) recent failure\(state.failures.count == 1 ? "" : "s"), the last \(last.code.rawValue) at \(rfc3339(microseconds: last.time).prefix(19))Z\n"
            }
            if let w = state.worked {
                let values = w.arguments.map { "\($0.name) \($0.value)" }.joined(separator: " ")
                out += "  starts from \(values): it worked in trace \(w.learntFrom) at \(rfc3339(microseconds: w.time).prefix(19))Z\n"
            }
        }
        try? FileDescriptor.standardOutput.writeAll(Redactor().redact(out))
        return 0
    }
}
