import AirunCore
import AirunSystem

/// Reads a settings file (a profile, config.toml; `kind` names it in errors) as text. Refused
/// whole over 1 MiB (real ones are a few hundred bytes): settings past a cut would be silently
/// ignored while `check` says ok. Refused where a byte is not UTF-8: a decoder would turn it into
/// U+FFFD without a word, and a setting would silently change.
func readSettingsFile(_ path: String, kind: String) throws(ProfileError) -> String {
    switch readWholeFile(path, limit: 1 << 20) {
    case .tooLarge:
        throw ProfileError(file: path, position: nil,
                           message: "the \(kind) file is larger than 1 MiB, so airun reads none of it; remove what it does not need (real ones are a few KiB)")
    case .unreadable:
        throw ProfileError(file: path, position: nil, message: "cannot read the \(kind) file")
    case .contents(let bytes):
        if let position = SourcePosition.firstInvalidUTF8(in: bytes) {
            throw ProfileError(file: path, position: position, message: "this byte is not UTF-8; TOML files are UTF-8 text")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The global configuration: `$XDG_CONFIG_HOME/airun/config.toml` (`~/.config/airun/config.toml`),
/// its `[log]` table, then the `AIRUN_LOG_*` variables over it.
enum GlobalConfig {
    static func path(_ environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/airun/config.toml" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.config/airun/config.toml" }
        return passwdHomeDirectory().map { $0 + "/.config/airun/config.toml" }
    }

    /// The effective settings, or the file's error (file:line:col) with the settings it could
    /// not spoil: the defaults and the environment.
    static func load(_ environment: [String: String]) -> (config: ConfigFile, problems: [String], error: ProfileError?) {
        var config = ConfigFile()
        var fileError: ProfileError?
        if let path = path(environment), isRegularFile(path) {
            do { config = try ConfigFile.decode(try readSettingsFile(path, kind: "configuration"), file: path) } catch { fileError = error }
        }
        let warnings = config.log.applyEnvironment(environment) + config.export.applyEnvironment(environment)
        return (config, warnings, fileError)
    }
}


/// `airun config show | check`: the effective settings and where each came from.
enum ConfigCommand {
    static var description: CommandDescription<[String]> {
        CommandDescription(
            name: "config",
            summary: "the global settings: log directory, rotation, retention, export",
            about: "the global settings (docs/records.md, \"Files, rotation and retention\"; docs/metrics.md).",
            positionals: Positionals(
                synopsis: "show | check",
                help: [("show", "each setting, its value, and where it came from"),
                       ("check", "validate the configuration file; errors name the file, line and fix")],
                words: ["show", "check"], completesFiles: false) { words, word in words.append(word) },
            options: [],
            notes: "The file is $XDG_CONFIG_HOME/airun/config.toml (~/.config/airun/config.toml):\n" + configSample()
                + "\nWhere a setting is given twice, the flag wins (--log-dir, --otlp), then the variable\n"
                + "(AIRUN_LOG_DIR, …), then this file, then the default; `airun config show` says which applied.",
            examples: ["airun config show"])
    }

    static let command = Subcommand(description, values: { [] }, run: run)

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let environment = Environment.current().values
        let (config, warnings, error) = GlobalConfig.load(environment)
        let settings = config.log
        func out(_ s: String) { try? FileDescriptor.standardOutput.writeAll(s) }
        func err(_ s: String) { printError("airun: " + s) }
        switch arguments {
        case ["check"]:
            if let error { err(error.description); return ExitCode.airunFailure }
            out("\(GlobalConfig.path(environment) ?? "no configuration file"): ok\n")
            return 0
        case ["show"]:
            if let error { err(error.description + " (showing the defaults)") }
            for w in warnings { err("warning: " + w) }
            let file = GlobalConfig.path(environment) ?? "none"
            out("config file:        \(file)\(isRegularFile(file) ? "" : " (absent)")\n")
            var shown = config
            // The directory records go to now, the default worked out, not just what was set.
            shown.log.directory = resolveLogDirectory(flag: nil, settings: settings, environment: environment)
            for setting in Setting.inFile {
                guard let key = setting.key, let value = setting.show?(shown) else { continue }
                out(key.padding(to: 20) + value.padding(to: 34) + "(" + config.source(of: setting) + ")\n")
            }
            return error == nil ? 0 : ExitCode.airunFailure
        default:
            throw UsageError("say show or check")
        }
    }
}

/// config.toml as `config --help` shows it: each setting of the table with an example value and
/// the variable that overrides it.
func configSample() -> String {
    var lines: [String] = []
    var table = ""
    for setting in Setting.inFile {
        guard let (name, key) = setting.tableAndName else { continue }
        if name != table {
            lines.append("  [\(name)]")
            table = name
        }
        let overrides = [setting.variable] + (setting.flag.map { [$0] } ?? [])
        lines.append("  # \(setting.help) (default \(setting.defaultText); \(overrides.joined(separator: ", ")))")
        lines.append("  \(key) = \(setting.example)")
    }
    return lines.joined(separator: "\n")
}

/// The settings table of docs/records.md, made from `Setting.all` (a test holds the page to it).
func settingsTableMarkdown() -> String {
    var lines = ["| config.toml | variable | flag | default | meaning |", "| --- | --- | --- | --- | --- |"]
    for setting in Setting.all {
        let cells = [setting.key.map { "`\($0)`" } ?? "", "`\(setting.variable)`", setting.flag.map { "`\($0)`" } ?? "",
                     setting.defaultText, setting.help.replacing("|", with: "\\|")]
        lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n") + "\n"
}
