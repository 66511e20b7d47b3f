/// Who or what a failure is down to, so people know where to look first.
public enum ErrorCategory: String, Sendable, CaseIterable {
    /// The command line, the model file or the installation: fix the input, retrying won't help.
    case configuration
    /// Memory (host or GPU) or another limit ran out.
    case resource
    /// The machine or the run's surroundings: timeouts, kills from outside, damaged downloads.
    case infrastructure
    /// The program itself failed.
    case application
    /// A person stopped it.
    case user
}

/// A failure's code, as in the `error_code` field. docs/errors.md describes each.
public enum ErrorCode: String, Sendable, CaseIterable {
    case modelNotFound = "MODEL_NOT_FOUND"
    case modelInvalid = "MODEL_INVALID"
    case modelCorrupt = "MODEL_CORRUPT"
    case modelUnsupported = "MODEL_UNSUPPORTED"
    case modelLoadFailed = "MODEL_LOAD_FAILED"
    case gpuOutOfMemory = "GPU_OOM"
    case hostOutOfMemory = "HOST_OOM"
    case contextTooLarge = "CONTEXT_TOO_LARGE"
    case promptTooLong = "PROMPT_TOO_LONG"
    case badArguments = "BAD_ARGUMENTS"
    case aborted = "ABORTED"
    case oomKilled = "OOM_KILLED"
    case killedBySignal = "KILLED_BY_SIGNAL"
    case timeout = "TIMEOUT"
    case interrupted = "INTERRUPTED"
    case commandNotFound = "COMMAND_NOT_FOUND"
    case permissionDenied = "PERMISSION_DENIED"
    case pythonException = "PYTHON_EXCEPTION"
    case nonzeroExit = "NONZERO_EXIT"
    case outputLost = "OUTPUT_LOST"
    case readyTimeout = "READY_TIMEOUT"
    case memoryLimit = "MEMORY_LIMIT"
    case addressInUse = "ADDRESS_IN_USE"

    public var category: ErrorCategory {
        switch self {
        case .modelNotFound, .modelInvalid, .modelUnsupported, .badArguments, .commandNotFound, .permissionDenied,
             .promptTooLong, .addressInUse:
            return .configuration
        case .gpuOutOfMemory, .hostOutOfMemory, .contextTooLarge, .oomKilled, .memoryLimit:
            return .resource
        case .modelCorrupt, .killedBySignal, .timeout, .outputLost, .readyTimeout:
            return .infrastructure
        case .modelLoadFailed, .aborted, .pythonException, .nonzeroExit:
            return .application
        case .interrupted:
            return .user
        }
    }

    /// Whether running the same command again may succeed. Profiles can override it per code;
    /// fallbacks (another model, smaller settings) are a separate decision.
    public var retryableByDefault: Bool {
        switch self {
        case .gpuOutOfMemory, .hostOutOfMemory, .oomKilled, .killedBySignal, .timeout, .modelLoadFailed, .nonzeroExit,
             .readyTimeout, .memoryLimit, .addressInUse:
            return true
        case .modelNotFound, .modelInvalid, .modelCorrupt, .modelUnsupported, .contextTooLarge, .promptTooLong,
             .badArguments, .aborted, .interrupted, .commandNotFound, .permissionDenied, .pythonException, .outputLost:
            return false
        }
    }

    /// What to do about it, in one line: printed under a failed run's summary line, by
    /// `airun classify`, and in docs/errors.md ("What to do"), which a test holds to this text.
    public var hint: String {
        switch self {
        case .modelNotFound: return "check the path given to -m (ls it), or download the model"
        case .modelInvalid: return "the file is not a GGUF model: fetch it again (a git-lfs pointer: git lfs pull)"
        case .modelCorrupt: return "the file is incomplete or damaged: download it again and compare its size or checksum"
        case .modelUnsupported: return "update llama.cpp, or use a GGUF converted for the version you have"
        case .modelLoadFailed: return "read llama.cpp's lines above the failure (backends, drivers, the file), then run it again"
        case .gpuOutOfMemory: return "offload fewer layers (-ngl), lower -c or use a smaller quantisation; nvidia-smi shows who else holds GPU memory"
        case .hostOutOfMemory: return "free memory, or use a smaller model, quantisation or context (-c)"
        case .contextTooLarge: return "ask for a smaller context: lower -c (or leave it out to use the model's own)"
        case .promptTooLong: return "shorten the prompt, or raise -c up to the model's trained context"
        case .badArguments: return "fix the command line: the program's --help lists what it accepts"
        case .aborted: return "the program crashed: the lines above name the assertion; report it upstream with the command"
        case .oomKilled: return "the kernel killed it for memory: use a smaller model or context, or raise the memory limit"
        case .killedBySignal: return "something outside killed it: check dmesg, the service manager, or who sent the signal"
        case .timeout: return "raise the limit the evidence names (--timeout, --max-time), or give it less to do (fewer tokens with -n)"
        case .interrupted: return "stopped on purpose: nothing to fix"
        case .commandNotFound: return "check the command's name and PATH (command -v NAME)"
        case .permissionDenied: return "check permissions (ls -l): chmod +x for a program, +r for a model file"
        case .pythonException: return "read the traceback above: its last line names the exception and where it was raised"
        case .nonzeroExit: return "read the command's own output above: airun found no more specific cause"
        case .outputLost: return "free disk space or fix where the output goes, then run it again"
        case .readyTimeout: return "read its last lines: a model that loads slowly needs a longer --ready-timeout; check the --ready-url or --ready-line"
        case .memoryLimit: return "raise --max-memory, or lower what the server holds (-c, --parallel, a smaller model)"
        case .addressInUse: return "another process listens on that port (ss -ltnp shows which): stop it, or give the server another --port"
        }
    }

    /// One sentence for people: what it means and what to do.
    public var summary: String {
        switch self {
        case .modelNotFound: return "the model file does not exist at the given path"
        case .modelInvalid: return "the model file is not a GGUF file (wrong magic: an HTML page, a git-lfs pointer, another format)"
        case .modelCorrupt: return "the GGUF file is truncated or damaged (an incomplete download)"
        case .modelUnsupported: return "the model needs a newer llama.cpp (unknown architecture, GGUF version, tokenizer or tensor type)"
        case .modelLoadFailed: return "the model failed to load for a reason llama.cpp did not make specific"
        case .gpuOutOfMemory: return "the GPU ran out of memory (CUDA, ROCm, Vulkan, Metal, SYCL or PyTorch)"
        case .hostOutOfMemory: return "host memory ran out while allocating"
        case .contextTooLarge: return "the requested context (KV cache) does not fit in memory: lower -c"
        case .promptTooLong: return "the prompt has more tokens than the context holds"
        case .badArguments: return "the command line was rejected (unknown flag, bad value)"
        case .aborted: return "the program aborted (assertion, abort(), uncaught exception, crash)"
        case .oomKilled: return "killed by SIGKILL while using most of the memory limit: the kernel's OOM killer"
        case .killedBySignal: return "killed by a signal from outside"
        case .timeout: return "airun's --timeout stopped it"
        case .interrupted: return "stopped by Ctrl-C or a termination signal sent to airun"
        case .commandNotFound: return "the command was not found"
        case .permissionDenied: return "the command or the model file could not be opened or executed: permission denied"
        case .pythonException: return "a Python program ended with an uncaught exception"
        case .nonzeroExit: return "the command exited non-zero without evidence of a more specific cause"
        case .outputLost: return "the command succeeded but airun could not write its output (a full disk, a closed reader): it is lost"
        case .readyTimeout: return "a server did not become ready (--ready-url, --ready-line) in time, and airun stopped it"
        case .memoryLimit: return "a server's processes passed --max-memory, and airun stopped it to start it again"
        case .addressInUse: return "a server could not listen: its address and port are taken by another process"
        }
    }
}
