public import AirunCore

/// How the child's output is connected: a pseudo-terminal or pipes.
public enum TTYMode: String, Sendable {
    /// A pty when airun's stdout is a terminal, pipes otherwise.
    case auto
    case always
    case never
}

/// Everything given on the command line before the wrapped command.
public struct RunOptions: Sendable {
    public var traceID: String?
    /// Per attempt.
    public var timeout: TimeSpan?
    /// `--max-time`: the whole run, every attempt and wait.
    public var maxTime: TimeSpan?
    /// nil: the profile's, else 10 s.
    public var killAfter: TimeSpan?
    public var tty = TTYMode.auto
    /// nil: the profile's, else 64 KiB.
    public var captureBytes: Int?
    public var profile: String?
    /// Total attempts, overriding the profile's `retry.attempts`.
    public var retries: Int?
    /// Replaces the profile's fallback models when given.
    public var fallbackModels: [String] = []
    public var dryRun = false
    /// Skip GPU sampling.
    public var noGPU = false
    /// `auto` (NVML, else nvidia-smi), `nvml` or `nvidia-smi`.
    public var gpuBackend = "auto"
    /// nil: the profile's, else 1 s.
    public var sampleInterval: TimeSpan?
    /// Write every sample as a `sample` record.
    public var samples = false
    public var captureDirectory: String?
    /// Write capture files as the child printed them, secrets included.
    public var captureRaw = false
    public var logDirectory: String?
    /// `--otlp URL`: an OTLP/HTTP base URL, over OTEL_EXPORTER_OTLP_ENDPOINT.
    public var otlp: String?
    public var quiet = false
    /// No live status line (also `AIRUN_STATUS=0`).
    public var noStatus = false
    /// `--tag KEY=VALUE`, in order given (a later one replaces an earlier key).
    public var tags: [(String, String)] = []
    /// The caller's name for the model (`--model-id`), over `AIRUN_MODEL_ID` and the file's name.
    public var modelID: String?
    /// `--simulate CODE[@N]`: attempts that end as a code without running.
    public var simulate: [SimulatedFailure] = []
    /// `--no-preflight`: start llama.cpp attempts without checking the model file and prompt first.
    public var noPreflight = false
    /// `--no-cooldown`: use a model even while its profile's `[cooldown]` says it is cooling down.
    public var noCooldown = false
    /// `--no-memory`: start from the command as given, not from an edit that worked before.
    public var noMemory = false
    /// `--restart`: start a server again when it ends (over the profile's `[restart] policy`).
    public var restart: RestartPolicy.Mode?
    /// `--ready-url`, `--ready-line`, `--ready-timeout`: over the profile's `[ready]`.
    public var readyURL: String?
    public var readyLine: String?
    public var readyTimeout: TimeSpan?
    /// `--heartbeat`: a heartbeat record this often (0: none).
    public var heartbeat: TimeSpan?
    /// `--max-memory`: restart the server when its processes' RSS passes this many bytes.
    public var maxMemoryBytes: Int64?
    public var command: [String] = []

    public init() {}
}

/// What the command line asks for.
public enum Invocation: Sendable {
    case run(RunOptions)
    case help
    case version
}

/// A bad command line: exit 125 with this message and the usage line.
public struct UsageError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

public let usageLine = "usage: airun [options] [--] COMMAND [ARGS...]   (airun --help for options)"

private func duration(_ name: String, _ text: String) throws(UsageError) -> TimeSpan {
    guard let d = TimeSpan(parsing: text) else { throw UsageError("\(name) '\(text)' is not a duration (use e.g. 90s, 10m, 1h, 500ms)") }
    return d
}

/// The options of `airun [options] -- COMMAND`: parsing, `--help` and completion come from here.
let runOptions: [Option<RunOptions>] = [
    Option(["--trace-id"], "ID", "join trace ID: 32 hex digits, a UUID, a traceparent header, or your own id (kept as TRACE_ID, the trace derived from it)") { o, v in o.traceID = v },
    Option(["--tag"], "KEY=VALUE", "put KEY=VALUE on the run's records (repeatable; also AIRUN_TAGS=k=v,k=v and a profile's [tags])") { o, v throws(UsageError) in
        guard let (key, value) = Tags.split(v) else { throw UsageError("--tag '\(v)' must be KEY=VALUE") }
        if let problem = Tags.problem(key: key, value: value) { throw UsageError("--tag: \(problem)") }
        // Distinct keys on the command line beyond what a record holds are a usage error, as docs/records.md says.
        if !o.tags.contains(where: { $0.0 == key }), Set(o.tags.map(\.0)).count >= Tags.maximumCount {
            throw UsageError("--tag \(key): more than \(Tags.maximumCount) tags")
        }
        o.tags.append((key, value))
    },
    Option(["--model-id"], "NAME", "your name for the model (records' model_id; also AIRUN_MODEL_ID), instead of the -m file's name") { o, v throws(UsageError) in
        guard !v.isEmpty, v.utf8.count <= 256 else { throw UsageError("--model-id must be 1 to 256 characters") }
        o.modelID = v
    },
    Option(["--timeout"], "DURATION", "per attempt: send it SIGTERM after DURATION (90s, 10m, 1h, 500ms; 0: none); exit 124") { o, v throws(UsageError) in
        let d = try duration("--timeout", v)
        o.timeout = d.nanoseconds > 0 ? d : nil  // 0 disables, as in GNU timeout
    },
    Option(["--max-time"], "DURATION", "the whole run, every attempt and wait: the attempt running at DURATION is stopped as by --timeout (exit 124), and no retry starts that would pass it") { o, v throws(UsageError) in
        let d = try duration("--max-time", v)
        guard d.nanoseconds > 0 else { throw UsageError("--max-time must be more than 0") }
        o.maxTime = d
    },
    Option(["--kill-after"], "DURATION", "send SIGKILL this long after the timeout's SIGTERM (default 10s)") { o, v throws(UsageError) in
        o.killAfter = try duration("--kill-after", v)
    },
    Option(["--tty"], "auto|always|never", "run the command on a pseudo-terminal (auto: when stdout is one)",
           kind: .choices { ["auto", "always", "never"] }) { o, v throws(UsageError) in
        guard let mode = TTYMode(rawValue: v) else { throw UsageError("--tty '\(v)' must be auto, always or never") }
        o.tty = mode
    },
    Option(["--capture-bytes"], "N", "keep the last N bytes of stdout and stderr in records (default 64K)") { o, v throws(UsageError) in
        guard let n = parseByteCount(v) else { throw UsageError("--capture-bytes '\(v)' is not a byte count (e.g. 65536, 64K, 1M)") }
        guard n <= Tail.maximumCapacity else {
            throw UsageError("--capture-bytes '\(v)' is more than the 16M a record can hold; use --capture-dir for whole output")
        }
        o.captureBytes = n
    },
    Option(["--capture-dir"], "DIR", "also write full copies of stdout and stderr to DIR (redacted)", kind: .directory) { o, v in o.captureDirectory = v },
    Option(["--capture-raw"], nil, "write the capture files unredacted") { o, _ in o.captureRaw = true },
    Option(["--log-dir"], "DIR", "where records go (default $AIRUN_LOG_DIR, else $XDG_STATE_HOME/airun/logs, else ~/.local/state/airun/logs)",
           kind: .directory) { o, v in o.logDirectory = v },
    Option(["--otlp"], "URL", "send spans and logs over OTLP/HTTP JSON to this collector (http://HOST:4318; over $OTEL_EXPORTER_OTLP_ENDPOINT)") { o, v throws(UsageError) in
        var check = ExportSettings()
        do throws(EndpointError) { try check.applyFlag(otlp: v) } catch { throw UsageError("--otlp '\(error.url)': \(error.reason)") }
        o.otlp = v
    },
    Option(["--profile"], "NAME|PATH", "retry/fallback/timeout policy (default: $AIRUN_PROFILE, the command's own profile, else `default`); see airun profile list") { o, v in o.profile = v },
    Option(["--retries"], "N", "total attempts, overriding the profile (1 to 100)") { o, v throws(UsageError) in
        guard let n = Int(v), (1...100).contains(n) else { throw UsageError("--retries '\(v)' must be a number of attempts from 1 to 100") }
        o.retries = n
    },
    Option(["--fallback-model"], "PATH", "a model to try instead of -m/--model after a model or memory failure (repeatable; replaces the profile's list; each gets an attempt)",
           kind: .file) { o, v in o.fallbackModels.append(v) },
    Option(["--simulate"], "CODE[@N]", "end attempt N (default 1) as error CODE without running it, to walk the profile's retries and fallbacks (repeatable; its records say simulated)",
           kind: .choices { ErrorCode.allCases.map(\.rawValue) }) { o, v throws(UsageError) in
        guard let failure = SimulatedFailure(v) else {
            throw UsageError("--simulate '\(v)' must be an error code, optionally @ATTEMPT (GPU_OOM, GPU_OOM@2; docs/errors.md lists the codes)")
        }
        o.simulate.append(failure)
    },
    Option(["--no-preflight"], nil, "start a llama.cpp attempt without first checking its model file and prompt (a doomed attempt is otherwise not started)") { o, _ in o.noPreflight = true },
    Option(["--no-cooldown"], nil, "use the model even while it is cooling down after repeated failures (the profile's [cooldown])") { o, _ in o.noCooldown = true },
    Option(["--no-memory"], nil, "run the command as given, not with an edit that made the same model work in an earlier run") { o, _ in o.noMemory = true },
    Option(["--restart"], "no|on-failure|always", "a server: start the command again when it ends (on-failure: unless it exits 0), with a growing wait; see docs/servers.md",
           kind: .choices { RestartPolicy.Mode.allCases.map(\.rawValue) }) { o, v throws(UsageError) in
        guard let mode = RestartPolicy.Mode(rawValue: v) else { throw UsageError("--restart '\(v)' must be no, on-failure or always") }
        o.restart = mode
    },
    Option(["--ready-url"], "URL", "a server is ready when URL answers 200 (http://{host}:{port}/health: the command's --host and --port); records its load time") { o, v throws(UsageError) in
        if let problem = Readiness.urlProblem(ServerAddress().fill(v)) { throw UsageError("--ready-url '\(v)': \(problem)") }
        o.readyURL = v
    },
    Option(["--ready-line"], "REGEX", "a server is ready when a line of its output matches REGEX (the syntax of docs/profiles.md)") { o, v throws(UsageError) in
        do { _ = try LinearRegex(v) } catch { throw UsageError("--ready-line: \(error)") }
        o.readyLine = v
    },
    Option(["--ready-timeout"], "DURATION", "stop a start that is not ready after DURATION as READY_TIMEOUT (default 10m)") { o, v throws(UsageError) in
        let d = try duration("--ready-timeout", v)
        guard d.nanoseconds > 0 else { throw UsageError("--ready-timeout must be more than 0") }
        o.readyTimeout = d
    },
    Option(["--heartbeat"], "DURATION", "write a heartbeat record this often while the command runs (default 60s for a server, else none; 0: none)") { o, v throws(UsageError) in
        let d = try duration("--heartbeat", v)
        guard d.nanoseconds == 0 || d.nanoseconds >= 1_000_000_000 else { throw UsageError("--heartbeat must be at least 1s (or 0: none)") }
        o.heartbeat = d
    },
    Option(["--max-memory"], "SIZE", "stop the command when its processes' resident memory passes SIZE (8G, 512M) as MEMORY_LIMIT; a server is then restarted") { o, v throws(UsageError) in
        guard let n = parseByteCount(v), n > 0 else { throw UsageError("--max-memory '\(v)' is not a size (e.g. 8G, 512M)") }
        o.maxMemoryBytes = Int64(n)
    },
    Option(["--dry-run"], nil, "print the resolved plan (and what follows each error code) and exit without running anything") { o, _ in o.dryRun = true },
    Option(["--sample-interval"], "DURATION", "how often to sample memory, CPU and GPU (default 1s, at least 10ms)") { o, v throws(UsageError) in
        let d = try duration("--sample-interval", v)
        guard d.nanoseconds >= 10_000_000 else { throw UsageError("--sample-interval must be at least 10ms") }
        o.sampleInterval = d
    },
    Option(["--samples"], nil, "also write every sample as a `sample` record") { o, _ in o.samples = true },
    Option(["--no-gpu"], nil, "do not sample the GPU") { o, _ in o.noGPU = true },
    Option(["--gpu-backend"], "B", "auto (NVML, else nvidia-smi), nvml or nvidia-smi", kind: .choices { ["auto", "nvml", "nvidia-smi"] }) { o, v throws(UsageError) in
        guard ["auto", "nvml", "nvidia-smi"].contains(v) else { throw UsageError("--gpu-backend '\(v)' must be auto, nvml or nvidia-smi") }
        o.gpuBackend = v
    },
    Option(["-q", "--quiet"], nil, "silences the summary, the status line, retry lines and ordinary warnings; errors still print, and once per run a warning that records, captures or exports are lost") { o, _ in o.quiet = true },
    Option(["--no-status"], nil, "no live status line on the terminal (also AIRUN_STATUS=0)") { o, _ in o.noStatus = true },
]

/// The names `--help` and `--version` besides the run options, for suggestions.
private let otherNames = ["-h", "--help", "--version"]

/// The closest known option to a mistyped one (`--timout` → `--timeout`), if one is close enough.
func nearestOption(_ typed: String, among names: [String]) -> String? {
    let best = names.map { ($0, editDistance(typed, $0)) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, typed.count / 3) else { return nil }
    return best.0
}

/// Levenshtein distance over characters, for suggestions only (both strings are short).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.prefix(64)), b = Array(b.prefix(64))
    var previous = Array(0...b.count)
    for (i, ca) in a.enumerated() {
        var current = [i + 1]
        for (j, cb) in b.enumerated() {
            current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
        }
        previous = current
    }
    return previous[b.count]
}

/// "unknown option '--timout' (did you mean --timeout?)"
func unknownOption(_ arg: String, names: [String]) -> UsageError {
    let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
    return UsageError("unknown option '\(arg)'" + (nearestOption(name, among: names).map { " (did you mean \($0)?)" } ?? ""))
}

/// Parses airun's arguments (without argv[0]). Options stop at `--` or at the first argument
/// that is not an option, so `airun sleep 1` and `airun -- sleep 1` mean the same.
public func parseInvocation(_ arguments: [String]) throws(UsageError) -> Invocation {
    var options = RunOptions()
    var i = 0
    while i < arguments.count {
        let arg = arguments[i]
        if arg == "--" { i += 1; break }
        guard arg.hasPrefix("-"), arg != "-" else { break }
        switch arg {
        case "-h", "--help": return .help
        case "--version": return .version
        default: try applyOption(runOptions, arguments, at: &i, to: &options, names: runOptions.flatMap(\.names) + otherNames)
        }
    }
    options.command = Array(arguments[i...])
    guard !options.command.isEmpty else { throw UsageError("no command given") }
    if !options.fallbackModels.isEmpty, ModelArgument.find(in: options.command) == nil {
        throw UsageError("--fallback-model replaces the command's -m/--model MODEL, and this command names none")
    }
    return .run(options)
}

public let helpText = """
    airun: run a command transparently and record what happened.

    usage: airun [options] [--] COMMAND [ARGS...]
           airun help [COMMAND]

    The command's stdout, stderr, stdin and exit status pass through unchanged. Each run writes
    JSON lines (run.start, attempt.start, attempt.end, error, retry, run.end) to the log directory.

    other commands (airun help COMMAND, or COMMAND --help):
    \(commandList())

    options:
    \(helpLines(runOptions.map { HelpLine(left: $0.names.joined(separator: ", ") + ($0.value.map { " " + $0 } ?? ""), help: $0.help) }))
      -h, --help              this text
      --version               print airun's version and the commit it was built from

    environment (each over ~/.config/airun/config.toml where it has a key there; the flag wins):
    \(environmentHelp())
      OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS, OTEL_SDK_DISABLED, …
                              OpenTelemetry's own; see docs/metrics.md
      TERM                    the status line is drawn only on a capable terminal

    examples:
      airun -- llama-completion -m model.gguf -p "Hello"
      airun --timeout 10m --fallback-model small.gguf -- llama-completion -m big.gguf -p "Hello"
      airun --tag project=chat --model-id llama33-70b -- python3 router.py "Hello"
      airun --dry-run -- llama-completion -m model.gguf -ngl 99 -c 8192 -p "Hello"
      airun classify --stderr err.txt --exit-code 1 -- llama-completion -m model.gguf

    exit status: the command's; 128+N (or the same signal) if it died of signal N; 123 when a server's
    restarts reached their start limit; 124 after --timeout, --max-time or --ready-timeout stopped it;
    125 airun's own error; 126 command not executable; 127 command not found.
    See docs/ for records, profiles, error codes and examples.
    """

/// `--help`'s environment list, from the settings table.
func environmentHelp() -> String {
    helpLines(Setting.all.map { setting in
        var help = setting.help
        if let flag = setting.flag { help += " (under \(flag))" }
        if let key = setting.key { help += "; config.toml \(key)" }
        return HelpLine(left: setting.variable, help: help)
    })
}
