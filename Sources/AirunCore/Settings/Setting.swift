/// A value given to a setting: from the configuration file, or the text of a variable.
public enum SettingValue: Sendable {
    case toml(TOMLValue)
    case text(String)

    /// A string's text (a variable's, or a TOML string's).
    var string: String? {
        switch self {
        case .text(let s): s
        case .toml(.string(let s)): s
        default: nil
        }
    }

    /// A whole number: a TOML integer, or text that is one.
    var integer: Int64? {
        switch self {
        case .toml(.integer(let n)): n
        case .text(let s): Int64(s)
        default: nil
        }
    }
}

/// Why a value cannot be used, said as the file's error and the variable's warning both say it.
public enum SettingProblem: Error, Sendable, Equatable {
    /// "a byte count of at least 4K": printed as `KEY must be …` / `ignoring VAR='…': …`.
    case mustBe(String)
    /// A reason of its own ("HTTPS is not supported …"): printed as `KEY: …`.
    case invalid(String)
}

/// One of airun's settings, described once: its key in config.toml, its environment variable,
/// the flag that overrides both, its default and its reader. The decoders of `[log]` and
/// `[export]`, the environment, `config show`, `airun --help`'s environment list and the table in
/// docs/records.md all come from `Setting.all`.
public struct Setting: Sendable {
    /// `log.max_file_size`; nil for a setting the file does not hold (`AIRUN_PROFILE`).
    public let key: String?
    public let variable: String
    public let flag: String?
    /// What holds when nothing sets it, as `config show` and the docs say it.
    public let defaultText: String
    /// A value as config.toml writes it (`"64M"`), for hints.
    public let example: String
    public let help: String
    /// Sets the configuration from a value, or says what is wrong with it; nil for a setting read
    /// elsewhere (a run's own variables: the profile, tags, the model id).
    let read: (@Sendable (inout ConfigFile, SettingValue) throws(SettingProblem) -> Void)?
    /// The value in effect, for `config show`.
    public let show: (@Sendable (ConfigFile) -> String)?

    /// The table the key is in (`log`) and the key within it (`max_file_size`).
    public var tableAndName: (table: String, name: String)? {
        guard let key, let dot = key.firstIndex(of: ".") else { return nil }
        return (String(key[..<dot]), String(key[key.index(after: dot)...]))
    }
}

extension Setting {
    public static let logDirectory = Setting(
        key: "log.dir", variable: "AIRUN_LOG_DIR", flag: "--log-dir", defaultText: "$XDG_STATE_HOME/airun/logs, else ~/.local/state/airun/logs",
        example: "\"~/logs/airun\"", help: "where records go",
        read: { c, v throws(SettingProblem) in c.log.directory = try path(v) }, show: { $0.log.directory ?? "default" })
    public static let logMaxFileSize = Setting(
        key: "log.max_file_size", variable: "AIRUN_LOG_MAX_FILE_SIZE", flag: nil, defaultText: "64M", example: "\"128M\"",
        help: "rotation: past this size the next record starts airun-YYYYMMDD.1.jsonl, .2, …",
        read: { c, v throws(SettingProblem) in c.log.maxFileSize = try byteCount(v, atLeast: 4096, "4K") },
        show: { byteCountText($0.log.maxFileSize) })
    public static let logRetainDays = Setting(
        key: "log.retain_days", variable: "AIRUN_LOG_RETAIN_DAYS", flag: nil, defaultText: "30", example: "14",
        help: "retention: files of older days are removed (none: kept)",
        read: { c, v throws(SettingProblem) in c.log.retainDays = try limit(v) }, show: { $0.log.retainDays.map(String.init) ?? "none" })
    public static let logRetainFiles = Setting(
        key: "log.retain_files", variable: "AIRUN_LOG_RETAIN_FILES", flag: nil, defaultText: "none", example: "100",
        help: "retention: at most this many record files (none: no limit)",
        read: { c, v throws(SettingProblem) in c.log.retainFiles = try limit(v) }, show: { $0.log.retainFiles.map(String.init) ?? "none" })
    public static let textfileDirectory = Setting(
        key: "export.textfile_dir", variable: "AIRUN_TEXTFILE_DIR", flag: nil, defaultText: "none",
        example: "\"/var/lib/prometheus/node-exporter\"", help: "write DIR/airun.prom after each run (node_exporter's textfile collector)",
        read: { c, v throws(SettingProblem) in c.export.textfileDirectory = try path(v) }, show: { $0.export.textfileDirectory ?? "none" })
    public static let pushgateway = Setting(
        key: "export.pushgateway", variable: "AIRUN_PUSHGATEWAY_URL", flag: nil, defaultText: "none", example: "\"http://localhost:9091\"",
        help: "push each run's figures to a Prometheus Pushgateway",
        read: { c, v throws(SettingProblem) in
            let endpoint = try url(v, defaultPort: 9091)
            if case .failure(let problem) = endpoint.pushgatewayGroup(instance: "") { throw .invalid(problem.reason) }
            c.export.pushgateway = endpoint
        }, show: { $0.export.pushgateway?.description ?? "none" })
    public static let otlpEndpoint = Setting(
        key: "export.otlp_endpoint", variable: "OTEL_EXPORTER_OTLP_ENDPOINT", flag: "--otlp", defaultText: "none",
        example: "\"http://localhost:4318\"", help: "send spans, logs and metrics over OTLP/HTTP JSON (…/v1/traces, …/v1/logs, …/v1/metrics); see docs/metrics.md",
        read: { c, v throws(SettingProblem) in
            let endpoint = try url(v, defaultPort: 4318)
            c.export.traces = endpoint.appending("v1/traces")
            c.export.logs = endpoint.appending("v1/logs")
            c.export.metrics = endpoint.appending("v1/metrics")
        }, show: { c in
            guard c.export.otlpEnabled else { return "none" }
            return "traces " + (c.export.traces?.description ?? "none") + ", logs " + (c.export.logs?.description ?? "none")
                + ", metrics " + (c.export.metrics?.description ?? "none")
        })
    public static let spoolMax = Setting(
        key: "export.spool_max", variable: "AIRUN_SPOOL_MAX", flag: nil, defaultText: "16M", example: "\"64M\"",
        help: "what unsent OTLP payloads may keep on disk (older ones are dropped, and counted)",
        read: { c, v throws(SettingProblem) in c.export.spoolMaxBytes = try byteCount(v, atLeast: 1024, "1K") },
        show: { byteCountText($0.export.spoolMaxBytes) })

    // A run's own variables: read where they are used, described here once.
    public static let profile = Setting(key: nil, variable: "AIRUN_PROFILE", flag: "--profile", defaultText: "the command's own, else default",
                                        example: "", help: "the profile to use", read: nil, show: nil)
    public static let profilePath = Setting(key: nil, variable: "AIRUN_PROFILE_PATH", flag: nil, defaultText: "none", example: "",
                                            help: "more directories of NAME.toml profiles, colon-separated", read: nil, show: nil)
    public static let tags = Setting(key: nil, variable: "AIRUN_TAGS", flag: "--tag", defaultText: "none", example: "",
                                     help: "tags for every run: KEY=VALUE,KEY=VALUE", read: nil, show: nil)
    public static let modelID = Setting(key: nil, variable: "AIRUN_MODEL_ID", flag: "--model-id", defaultText: "the -m file's name", example: "",
                                        help: "the name for the model in records", read: nil, show: nil)
    public static let status = Setting(key: nil, variable: "AIRUN_STATUS", flag: "--no-status", defaultText: "on a capable terminal", example: "",
                                       help: "0: no live status line", read: nil, show: nil)

    public static let traceParent = Setting(key: nil, variable: "TRACEPARENT", flag: "--trace-id", defaultText: "a new trace", example: "",
                                            help: "the trace to join (W3C traceparent; or TRACE_ID, an id of your own)", read: nil, show: nil)

    /// Every setting, in the order `config show`, `--help` and the docs list them.
    public static let all: [Setting] = [
        logDirectory, logMaxFileSize, logRetainDays, logRetainFiles,
        textfileDirectory, pushgateway, otlpEndpoint, spoolMax,
        profile, profilePath, tags, modelID, status, traceParent,
    ]

    /// The settings config.toml holds.
    public static var inFile: [Setting] { all.filter { $0.key != nil } }

    /// A non-empty string.
    static func path(_ v: SettingValue) throws(SettingProblem) -> String {
        guard let s = v.string, !s.isEmpty else { throw .mustBe("a path") }
        return s
    }

    /// A byte count (`64M`, `65536`) of at least `minimum`.
    static func byteCount(_ v: SettingValue, atLeast minimum: Int64, _ minimumText: String) throws(SettingProblem) -> Int64 {
        let n: Int64? = switch v {
        case .toml(.integer(let n)): n
        default: v.string.flatMap(parseByteCount).map(Int64.init)
        }
        guard let n, n >= minimum else { throw .mustBe("a byte count of at least \(minimumText)") }
        return n
    }

    /// A retention limit: a whole number from 1 to 1000000, or `none` (also `0`) for no limit.
    static func limit(_ v: SettingValue) throws(SettingProblem) -> Int64? {
        if v.string == "none" || v.integer == 0 { return nil }
        guard let n = v.integer, (1...1_000_000).contains(n) else { throw .mustBe("a whole number from 1 to 1000000, or \"none\"") }
        return n
    }

    /// An `http://` URL.
    static func url(_ v: SettingValue, defaultPort: Int) throws(SettingProblem) -> HTTPEndpoint {
        guard let s = v.string, !s.isEmpty else { throw .mustBe("an http:// URL") }
        switch HTTPEndpoint.parse(s, defaultPort: defaultPort) {
        case .success(let e): return e
        case .failure(let e): throw .invalid(e.reason)
        }
    }
}

/// 67108864 → "64M"
public func byteCountText(_ n: Int64) -> String {
    for (unit, scale) in [("G", Int64(1) << 30), ("M", Int64(1) << 20), ("K", Int64(1) << 10)] where n % scale == 0 && n >= scale {
        return "\(n / scale)\(unit)"
    }
    return String(n)
}
