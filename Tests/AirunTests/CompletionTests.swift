@testable import AirunCLI
import AirunCore
import Foundation
import Testing

/// The commands' one description: help, usage, parsing and the shell completions made from it.
@Suite("commands from one description", .timeLimit(.minutes(2)), .offPool)
struct CommandDescriptionTests {
    @Test("every command's help and completion name every one of its options; its usage names itself")
    func helpAndCompletionAgree() throws {
        let bash = CompletionCommand.bashScript(CommandName.allCases.map { ($0.rawValue, $0.command) }, run: CompletionEntry(runOptions: runOptions))
        for name in CommandName.allCases {
            let command = name.command
            #expect(command.usage.hasPrefix("usage: airun \(name.rawValue)"))
            #expect(command.help.contains(command.usage))
            #expect(!command.summary.isEmpty && helpText.contains(command.summary), "\(name) missing from airun --help")
            #expect(bash.contains("    \(name.rawValue))\n"), "\(name) has no case in the bash completion")
            for flag in command.completion.flags {
                for option in flag.names {
                    #expect(command.help.contains(option), "\(name): \(option) missing from its help")
                    #expect(bash.contains(option), "\(name): \(option) missing from the bash completion")
                }
            }
        }
        for option in runOptions.flatMap(\.names) { #expect(bash.contains(option)) }
    }

    @Test("subcommand options take --name=value as well as --name value; mistakes name the command and its usage")
    func parsing() throws {
        let s = Scratch()
        let a = try airun(["stats", "--json", "--by=model", "--log-dir=\(s.file("none"))"], scratch: s)
        let b = try airun(["stats", "--json", "--by", "model", "--log-dir", s.file("none")], scratch: s)
        #expect(a.exitCode == 0 && a.stdoutText == b.stdoutText, "\(a.stderr)")
        for (args, message) in [(["stats", "--json=1"], "airun: stats: option --json takes no value"),
                                (["logs", "--levle", "WARN"], "airun: logs: unknown option '--levle' (did you mean --level?)"),
                                (["trace", "a", "b"], "airun: trace: give one trace id"),
                                (["gpu", "x"], "airun: gpu: unexpected argument 'x'"),
                                (["report"], "airun: report: --html FILE is required"),
                                (["completion", "tcsh"], "airun: completion: no completion for 'tcsh'")] {
            let r = try airun(args, scratch: s)
            #expect(r.exitCode == 125, "\(args)")
            #expect(r.stderr.hasPrefix(message), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("usage: airun \(args[0])"), "\(args): \(r.stderr)")
        }
    }

    @Test("the bash completion, sourced in a real bash on a terminal, completes commands, options and their values",
          .enabled(if: TerminalSession.available || TerminalSession.required, "tmux is not installed (apt-get install tmux)"))
    func bashInTerminal() throws {
        let t = try TerminalSession()
        let script = t.scratch.write("airun.bash", try airun(["completion", "bash"]).stdout)
        t.run("source \(script) && echo sourced")
        #expect(t.waitFor("sourced\n$ "), "\(t.screen)")
        // Each line is completed with Tab, checked on the screen, and abandoned with Ctrl-C.
        for (typed, completed) in [("airun sta", "$ airun stats "), ("airun stats --wa", "$ airun stats --watch "),
                                   ("airun --gpu-backend nvidia-", "$ airun --gpu-backend nvidia-smi "),
                                   ("airun logs --level WA", "$ airun logs --level WARN "),
                                   ("airun -q --timeout 5s -- ech", "$ airun -q --timeout 5s -- echo ")] {
            t.clear()
            t.type(typed)
            #expect(t.waitFor("$ " + typed), "\(t.screen)")
            t.press("Tab")
            #expect(t.waitFor(completed), "\(typed): \(t.screen)")
            t.press("C-c")
            #expect(t.waitFor("^C\n$ ") || t.waitFor("$ \n"), "\(t.screen)")
        }
    }

    @Test("the fish completion, loaded by fish, offers commands, options and values", Requirement.shellTrait("fish"))
    func fish() throws {
        let s = Scratch()
        let script = s.write("airun.fish", try airun(["completion", "fish"], scratch: s).stdout)
        func complete(_ line: String) throws -> [String] {
            let r = try AirunProcess.start(["-q", "--log-dir", s.file("logs"), "--", "fish", "--no-config", "-c",
                                            "source \(script); complete -C'\(line)'"], scratch: s).wait()
            #expect(r.exitCode == 0, "\(r.stderr)")
            return r.stdoutText.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
        }
        #expect(try complete("airun sta") == ["stats"])
        #expect(try complete("airun stats --wa") == ["--watch"])
        #expect(try Set(complete("airun --gpu-backend ")) == ["auto", "nvml", "nvidia-smi"])
        #expect(try Set(complete("airun logs --level ")) == ["INFO", "WARN", "ERROR"])
        #expect(try complete("airun completion ").sorted() == ["bash", "fish", "zsh"])
    }

    @Test("the zsh completion loads through bashcompinit and registers for airun", Requirement.shellTrait("zsh"))
    func zsh() throws {
        let s = Scratch()
        let script = s.write("airun.zsh", try airun(["completion", "zsh"], scratch: s).stdout)
        let r = try AirunProcess.start(["-q", "--log-dir", s.file("logs"), "--", "zsh", "-f", "-c",
                                        "autoload -U compinit; compinit -u -D; source \(script); print -r -- $_comps[airun]"],
                                       scratch: s, environment: ["HOME": s.path]).wait()
        #expect(r.exitCode == 0 && r.stdoutText == "_bash_complete -F _airun\n", "\(r.stdoutText) \(r.stderr)")
    }
}
