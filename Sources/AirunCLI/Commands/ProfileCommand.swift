import AirunCore
import AirunSystem

/// `airun profile list | show NAME|PATH | check FILE...`
enum ProfileCommand {
    static var description: CommandDescription<[String]> {
        CommandDescription(
            name: "profile",
            summary: "list, show and check profiles",
            about: "the profiles that set retries, fallbacks, timeouts and rules (docs/profiles.md).",
            positionals: Positionals(
                synopsis: "list | show NAME|PATH | check FILE...",
                help: [("list", "every profile found, and where (files override the built-in ones)"),
                       ("show NAME|PATH", "what a profile makes a run do"),
                       ("check FILE...", "validate profile files; errors name the file, line and fix")],
                words: ["list", "show", "check"], completesFiles: true) { words, word in words.append(word) },
            options: [],
            notes: """
                A run picks --profile, else $AIRUN_PROFILE, else the command's own (llama-completion,
                python3 ai-router.py → ai-router), else default. airun --dry-run -- COMMAND shows the choice.
                """,
            examples: ["airun profile show llama-completion", "airun profile check ~/.config/airun/profiles/*.toml"])
    }

    static let command = Subcommand(description, values: { [] }, run: run)

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let locator = ProfileLocator(environment: Environment.current().values)
        func out(_ s: String) { try? FileDescriptor.standardOutput.writeAll(s) }
        func err(_ s: String) { printError("airun: " + s) }
        switch (arguments.first, arguments.count) {
        case ("list", 1):
            for (name, location, overrides) in locator.list() {
                out(name.padding(to: 20) + location.description + (overrides ? " (overrides the built-in one)" : "") + "\n")
            }
            return 0
        case ("show", 2):
            do {
                let profile = try locator.resolve(explicit: arguments[1], command: [arguments[1]])
                out(RunSettings(profile: profile, options: RunOptions()).describe(command: nil))
                return 0
            } catch {
                err(error.description)
                return ExitCode.airunFailure
            }
        case ("check", let n) where n >= 2:
            var failed = false
            for file in arguments.dropFirst() {
                do {
                    let profile = try locator.load(.file(file), name: ProfileLocator.commandName([file]))
                    out("\(file): ok\n")
                    for problem in profile.problems { out("\(file): warning: \(problem)\n") }
                } catch {
                    err(error.description)
                    failed = true
                }
            }
            return failed ? ExitCode.airunFailure : 0
        default:
            throw UsageError("say list, show NAME|PATH or check FILE...")
        }
    }
}

extension String {
    func padding(to width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
