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

/// `otlp_endpoint`'s value in `config show`: the URLs the traces and the logs go to.
func otlpValue(_ export: ExportSettings) -> String {
    guard export.traces != nil || export.logs != nil else { return "none" }
    return "traces " + (export.traces?.description ?? "none") + ", logs " + (export.logs?.description ?? "none")
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
            notes: """
                The file is $XDG_CONFIG_HOME/airun/config.toml (~/.config/airun/config.toml):
                  [log]
                  dir = "~/logs/airun"     # else $AIRUN_LOG_DIR, else ~/.local/state/airun/logs
                  max_file_size = "64M"    # then airun-YYYYMMDD.1.jsonl, .2, … (AIRUN_LOG_MAX_FILE_SIZE)
                  retain_days = 30         # files of older days are removed (AIRUN_LOG_RETAIN_DAYS)
                  retain_files = 100       # at most this many files (AIRUN_LOG_RETAIN_FILES; default: no limit)
                  [export]                 # docs/metrics.md
                  textfile_dir = "/var/lib/prometheus/node-exporter"   # AIRUN_TEXTFILE_DIR
                  pushgateway = "http://localhost:9091"                # AIRUN_PUSHGATEWAY_URL
                  otlp_endpoint = "http://localhost:4318"              # OTEL_EXPORTER_OTLP_ENDPOINT, --otlp
                  spool_max = "16M"                                    # what unsent exports may keep (AIRUN_SPOOL_MAX)
                """,
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
            let dir = resolveLogDirectory(flag: nil, settings: settings, environment: environment)
            let rows: [(String, String, String)] = [
                ("log.dir", dir, settings.sources["dir"] ?? "default"),
                ("log.max_file_size", byteCountText(settings.maxFileSize), settings.source("max_file_size")),
                ("log.retain_days", settings.retainDays.map(String.init) ?? "none", settings.source("retain_days")),
                ("log.retain_files", settings.retainFiles.map(String.init) ?? "none", settings.source("retain_files")),
                ("export.textfile_dir", config.export.textfileDirectory ?? "none", config.export.sources["textfile_dir"] ?? "default"),
                ("export.pushgateway", config.export.pushgateway?.description ?? "none", config.export.sources["pushgateway"] ?? "default"),
                // One setting, as the file and --help name it; the URL each signal goes to follows.
                ("export.otlp_endpoint", otlpValue(config.export), config.export.sources["otlp_endpoint"] ?? "default"),
                ("export.spool_max", byteCountText(config.export.spoolMaxBytes), config.export.sources["spool_max"] ?? "default"),
            ]
            for (key, value, source) in rows { out(key.padding(to: 20) + value.padding(to: 34) + "(" + source + ")\n") }
            return error == nil ? 0 : ExitCode.airunFailure
        default:
            throw UsageError("say show or check")
        }
    }

    /// 67108864 → "64M"
    static func byteCountText(_ n: Int64) -> String {
        for (unit, scale) in [("G", Int64(1) << 30), ("M", Int64(1) << 20), ("K", Int64(1) << 10)] where n % scale == 0 && n >= scale {
            return "\(n / scale)\(unit)"
        }
        return String(n)
    }
}
