import AirunCore
import AirunSystem

/// What shell completion needs of a command: its options and what their values are, the words
/// it takes, and whether a command follows `--`. Made from the same description as its parsing.
struct CompletionEntry: Sendable {
    struct Flag: Sendable {
        var names: [String]
        var takesValue: Bool
        var kind: ValueKind
        var help: String
    }

    var flags: [Flag]
    var words: [String]
    var completesFiles: Bool
    var takesCommand: Bool

    init<V>(_ d: CommandDescription<V>) {
        flags = d.options.map { Flag(names: $0.names, takesValue: $0.value != nil, kind: $0.kind, help: $0.help) }
            + [Flag(names: ["-h", "--help"], takesValue: false, kind: .text, help: "this command's help")]
        words = d.positionals?.words ?? []
        completesFiles = d.positionals?.completesFiles ?? false
        takesCommand = d.afterDashes != nil
    }

    /// The run's own options: `airun [options] -- COMMAND`.
    init(runOptions: [Option<RunOptions>]) {
        flags = runOptions.map { Flag(names: $0.names, takesValue: $0.value != nil, kind: $0.kind, help: $0.help) }
            + [Flag(names: ["-h", "--help"], takesValue: false, kind: .text, help: "airun's help"),
               Flag(names: ["--version"], takesValue: false, kind: .text, help: "airun's version")]
        words = []
        completesFiles = false
        takesCommand = true
    }
}

/// `airun completion bash|zsh|fish`: a completion script for the shell, generated from the
/// commands' descriptions (so it cannot fall behind them).
enum CompletionCommand {
    static var description: CommandDescription<[String]> {
        CommandDescription(
            name: "completion",
            summary: "a shell completion script: bash, zsh or fish",
            about: "a completion script for your shell: subcommands, options, and the values they take.",
            positionals: Positionals(synopsis: "bash|zsh|fish", help: [("bash|zsh|fish", "the shell to complete in")],
                                     words: ["bash", "zsh", "fish"], completesFiles: false) { shells, shell in shells.append(shell) },
            options: [],
            notes: """
                bash: source <(airun completion bash)    (or save it as ~/.local/share/bash-completion/completions/airun)
                zsh:  source <(airun completion zsh)     (bash completion through zsh's bashcompinit)
                fish: airun completion fish > ~/.config/fish/completions/airun.fish
                """,
            examples: ["airun completion bash > ~/.local/share/bash-completion/completions/airun"])
    }

    static let command = Subcommand(description, values: { [] }, run: run)

    static func run(_ shells: [String]) throws(UsageError) -> Int32 {
        guard shells.count == 1 else { throw UsageError("name one shell: bash, zsh or fish") }
        let commands = CommandName.allCases.map { ($0.rawValue, $0.command) }
        let run = CompletionEntry(runOptions: runOptions)
        let script: String
        switch shells[0] {
        case "bash": script = bashScript(commands, run: run)
        case "zsh": script = "#compdef airun\n# airun completion for zsh: bash's completion through bashcompinit.\n"
            + "autoload -U +X bashcompinit && bashcompinit\n" + bashScript(commands, run: run)
        case "fish": script = fishScript(commands, run: run)
        default: throw UsageError("no completion for '\(escapingControlCharacters(shells[0]))': bash, zsh or fish")
        }
        try? FileDescriptor.standardOutput.writeAll(script)
        return 0
    }

    /// The `compgen` for a value of this kind.
    private static func bashValues(_ kind: ValueKind) -> String {
        switch kind {
        case .text: "COMPREPLY=()"
        case .file: "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))"
        case .directory: "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))"
        case .choices(let words): "COMPREPLY=($(compgen -W '\(words().joined(separator: " "))' -- \"$cur\"))"
        }
    }

    /// A `case "$prev" in` body: what follows each option that takes a value.
    private static func bashValueCases(_ entry: CompletionEntry, indent: String) -> String {
        entry.flags.filter(\.takesValue).map { flag in
            "\(indent)\(flag.names.joined(separator: "|"))) \(bashValues(flag.kind)); return ;;\n"
        }.joined()
    }

    static func bashScript(_ commands: [(String, Subcommand)], run: CompletionEntry) -> String {
        let names = commands.map(\.0).joined(separator: " ")
        var s = """
            # airun completion for bash (airun completion bash), generated from airun's own command table.
            _airun_command() {
                # What comes after `--` (or a run's command): complete it as that command would.
                local offset=$1
                if declare -F _command_offset >/dev/null; then _command_offset "$offset"; return; fi
                if [ "$COMP_CWORD" -eq "$offset" ]; then COMPREPLY=($(compgen -c -- "$cur"))
                else compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); fi
            }
            _airun() {
                local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i
                COMPREPLY=()
                case "${COMP_WORDS[1]}" in

            """
        s += "    help) [ \"$COMP_CWORD\" -eq 2 ] && COMPREPLY=($(compgen -W '\(names)' -- \"$cur\")); return ;;\n"
        for (name, command) in commands {
            let entry = command.completion
            s += "    \(name))\n"
            if entry.takesCommand {
                s += "        for ((i = 2; i < COMP_CWORD; i++)); do [ \"${COMP_WORDS[i]}\" = -- ] && { _airun_command $((i + 1)); return; }; done\n"
            }
            s += "        case \"$prev\" in\n" + bashValueCases(entry, indent: "            ") + "        esac\n"
            let flags = entry.flags.flatMap(\.names).joined(separator: " ")
            s += "        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '\(flags)' -- \"$cur\")); return; fi\n"
            if !entry.words.isEmpty { s += "        COMPREPLY=($(compgen -W '\(entry.words.joined(separator: " "))' -- \"$cur\"))\n" }
            if entry.completesFiles { s += "        compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- \"$cur\"))\n" }
            s += "        return ;;\n"
        }
        // A run: options until `--` or the first word that is not one, then the wrapped command.
        let valueFlags = run.flags.filter(\.takesValue).flatMap(\.names).joined(separator: "|")
        s += """
                esac
                for ((i = 1; i < COMP_CWORD; i++)); do
                    case "${COMP_WORDS[i]}" in
                    --) _airun_command $((i + 1)); return ;;
                    \(valueFlags)) ((i++)) ;;
                    -*) ;;
                    *) _airun_command "$i"; return ;;
                    esac
                done
                case "$prev" in

            """
        s += bashValueCases(run, indent: "        ")
        s += """
                esac
                if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '\(run.flags.flatMap(\.names).joined(separator: " "))' -- "$cur")); return; fi
                # The first word: airun's own commands when one matches, else a command to run.
                if [ "$COMP_CWORD" -eq 1 ]; then
                    COMPREPLY=($(compgen -W 'help \(names)' -- "$cur"))
                    [ ${#COMPREPLY[@]} -gt 0 ] || COMPREPLY=($(compgen -c -- "$cur"))
                    return
                fi
                COMPREPLY=($(compgen -c -- "$cur"))
            }
            complete -F _airun airun

            """
        return s
    }

    /// `'text'` for fish, with its quotes and backslashes escaped.
    private static func fishQuoted(_ text: String) -> String {
        "'" + text.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }

    private static func fishFlag(_ flag: CompletionEntry.Flag, condition: String) -> String {
        var line = "complete -c airun -n \(fishQuoted(condition))"
        for name in flag.names {
            line += name.hasPrefix("--") ? " -l \(name.dropFirst(2))" : " -s \(name.dropFirst())"
        }
        if flag.takesValue {
            switch flag.kind {
            case .text: line += " -x"
            case .file: line += " -r -F"
            case .directory: line += " -x -a '(__fish_complete_directories)'"
            case .choices(let words): line += " -x -a \(fishQuoted(words().joined(separator: " ")))"
            }
        }
        let summary = flag.help.count > 70 ? String(flag.help.prefix(69)) + "…" : flag.help
        return line + " -d \(fishQuoted(summary))\n"
    }

    static func fishScript(_ commands: [(String, Subcommand)], run: CompletionEntry) -> String {
        let names = commands.map(\.0).joined(separator: " ")
        var s = "# airun completion for fish (airun completion fish), generated from airun's own command table.\n"
        s += "complete -c airun -f\n"
        let noCommand = "not __fish_seen_subcommand_from help \(names)"
        s += "complete -c airun -n \(fishQuoted("__fish_use_subcommand")) -a help -d 'a command\\'s help'\n"
        for (name, command) in commands {
            s += "complete -c airun -n \(fishQuoted("__fish_use_subcommand")) -a \(name) -d \(fishQuoted(command.summary))\n"
        }
        s += "complete -c airun -n \(fishQuoted("__fish_seen_subcommand_from help")) -a \(fishQuoted(names))\n"
        for flag in run.flags { s += fishFlag(flag, condition: noCommand) }
        for (name, command) in commands {
            let condition = "__fish_seen_subcommand_from \(name)"
            for flag in command.completion.flags { s += fishFlag(flag, condition: condition) }
            if !command.completion.words.isEmpty {
                s += "complete -c airun -n \(fishQuoted(condition)) -a \(fishQuoted(command.completion.words.joined(separator: " ")))\n"
            }
            if command.completion.completesFiles { s += "complete -c airun -n \(fishQuoted(condition)) -F\n" }
        }
        return s
    }
}
