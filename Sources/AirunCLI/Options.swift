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
    public var timeout: Duration?
    /// nil: the profile's, else 10 s.
    public var killAfter: Duration?
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
    public var sampleInterval: Duration?
    /// Write every sample as a `sample` record.
    public var samples = false
    public var captureDirectory: String?
    /// Write capture files as the child printed them, secrets included.
    public var captureRaw = false
    public var logDirectory: String?
    public var quiet = false
    /// No live status line (also `AIRUN_STATUS=0`).
    public var noStatus = false
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

public let helpText = """
    airun: run a command transparently and record what happened.

    usage: airun [options] [--] COMMAND [ARGS...]

    The command's stdout, stderr, stdin and exit status pass through unchanged. Each run writes
    JSON lines (run.start, attempt.start, attempt.end, error, retry, run.end) to the log directory.

    other commands:
      airun classify --stderr FILE [--stdout FILE] (--exit-code N | --signal NAME)
      airun profile list | show NAME | check FILE
      airun gpu [--json]

    options:
      --trace-id ID           join trace ID (32 hex digits, or a traceparent header)
      --timeout DURATION      send SIGTERM after DURATION (90s, 10m, 1h, 500ms); exit 124
      --kill-after DURATION   send SIGKILL this long after the timeout's SIGTERM (default 10s)
      --tty auto|always|never run the command on a pseudo-terminal (auto: when stdout is one)
      --capture-bytes N       keep the last N bytes of stdout and stderr in records (default 64K)
      --capture-dir DIR       also write full copies of stdout and stderr to DIR (redacted)
      --capture-raw           write the capture files unredacted
      --log-dir DIR           where records go (default $AIRUN_LOG_DIR, else
                              $XDG_STATE_HOME/airun/logs, else ~/.local/state/airun/logs)
      --profile NAME|PATH     retry/fallback/timeout policy (default: $AIRUN_PROFILE, the
                              command's own profile, else `default`); see airun profile list
      --retries N             total attempts, overriding the profile
      --fallback-model PATH   a model to try instead of -m/--model after a model or memory
                              failure (repeatable; replaces the profile's list)
      --dry-run               print the resolved plan and exit without running anything
      --sample-interval D     how often to sample memory, CPU and GPU (default 1s)
      --samples               also write every sample as a `sample` record
      --no-gpu                do not sample the GPU
      --gpu-backend B         auto (NVML, else nvidia-smi), nvml or nvidia-smi
      -q, --quiet             no airun lines on stderr except errors
      --no-status             no live status line on the terminal (also AIRUN_STATUS=0)
      -h, --help              this text
      --version               print airun's version

    exit status: the command's; 128+N (or the same signal) if it died of signal N; 124 after
    --timeout; 125 airun's own error; 126 command not executable; 127 command not found.
    See docs/ for records, signals and examples.
    """

/// Parses airun's arguments (without argv[0]). Options stop at `--` or at the first argument
/// that is not an option, so `airun sleep 1` and `airun -- sleep 1` mean the same.
public func parseInvocation(_ arguments: [String]) throws(UsageError) -> Invocation {
    var options = RunOptions()
    var i = 0
    func value(_ name: String, inline: String?) throws(UsageError) -> String {
        if let inline { return inline }
        i += 1
        guard i < arguments.count else { throw UsageError("option \(name) needs a value") }
        return arguments[i]
    }
    func duration(_ name: String, _ text: String) throws(UsageError) -> Duration {
        guard let d = Duration(parsing: text) else {
            throw UsageError("\(name) '\(text)' is not a duration (use e.g. 90s, 10m, 1h, 500ms)")
        }
        return d
    }
    while i < arguments.count {
        let arg = arguments[i]
        if arg == "--" { i += 1; break }
        guard arg.hasPrefix("-"), arg != "-" else { break }
        var name = arg
        var inline: String?
        if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
            name = String(arg[..<eq])
            inline = String(arg[arg.index(after: eq)...])
        }
        switch name {
        case "-h", "--help": return .help
        case "--version": return .version
        case "-q", "--quiet": options.quiet = true
        case "--no-status": options.noStatus = true
        case "--trace-id": options.traceID = try value(name, inline: inline)
        case "--timeout":
            let d = try duration(name, try value(name, inline: inline))
            options.timeout = d.nanoseconds > 0 ? d : nil  // 0 disables, as in GNU timeout
        case "--kill-after": options.killAfter = try duration(name, try value(name, inline: inline))
        case "--tty":
            let v = try value(name, inline: inline)
            guard let mode = TTYMode(rawValue: v) else { throw UsageError("--tty '\(v)' must be auto, always or never") }
            options.tty = mode
        case "--capture-bytes":
            let v = try value(name, inline: inline)
            guard let n = parseByteCount(v) else { throw UsageError("--capture-bytes '\(v)' is not a byte count (e.g. 65536, 64K, 1M)") }
            guard n <= Tail.maximumCapacity else {
                throw UsageError("--capture-bytes '\(v)' is more than the 16M a record can hold; use --capture-dir for whole output")
            }
            options.captureBytes = n
        case "--capture-dir": options.captureDirectory = try value(name, inline: inline)
        case "--capture-raw": options.captureRaw = true
        case "--log-dir": options.logDirectory = try value(name, inline: inline)
        case "--profile": options.profile = try value(name, inline: inline)
        case "--retries":
            let v = try value(name, inline: inline)
            guard let n = Int(v), (1...100).contains(n) else { throw UsageError("--retries '\(v)' must be a number of attempts from 1 to 100") }
            options.retries = n
        case "--fallback-model": options.fallbackModels.append(try value(name, inline: inline))
        case "--dry-run": options.dryRun = true
        case "--no-gpu": options.noGPU = true
        case "--gpu-backend":
            let v = try value(name, inline: inline)
            guard ["auto", "nvml", "nvidia-smi"].contains(v) else { throw UsageError("--gpu-backend '\(v)' must be auto, nvml or nvidia-smi") }
            options.gpuBackend = v
        case "--samples": options.samples = true
        case "--sample-interval":
            let d = try duration(name, try value(name, inline: inline))
            guard d.nanoseconds >= 10_000_000 else { throw UsageError("--sample-interval must be at least 10ms") }
            options.sampleInterval = d
        default: throw UsageError("unknown option '\(arg)'")
        }
        i += 1
    }
    options.command = Array(arguments[i...])
    guard !options.command.isEmpty else { throw UsageError("no command given") }
    return .run(options)
}
