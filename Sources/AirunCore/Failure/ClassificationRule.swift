/// Which captured stream a rule reads.
public enum CapturedStream: String, Sendable {
    case stdout, stderr, any
}

/// One classification rule: if any of its line matchers finds a line (under its conditions), the
/// failure gets its code, and that line is the evidence. Rules are tried in order; the first that
/// matches wins, so specific rules come before general ones.
public struct ClassificationRule: Sendable {
    /// A short name for the rule, shown with the verdict (`llama.gguf-version`).
    public var name: String
    public var code: ErrorCode
    /// Case-insensitive phrases: a line matches a group when it contains every phrase of the group,
    /// and the rule matches when any group does. Cheap enough to scan 64 KiB tails on every failure.
    public var phrases: [[String]]
    /// Regular expressions (Swift Regex syntax), for rules from profiles; any match in a line counts.
    public var patterns: [String]
    public var stream: CapturedStream
    /// When set, the rule applies only to these exit codes.
    public var exitCodes: [Int32]?
    /// Overrides the code's default retryability (profiles).
    public var retryable: Bool?
    /// What to do, where the code's own hint would mislead: a PyTorch job has no `-ngl` to lower.
    public var hint: String?

    public init(_ name: String, _ code: ErrorCode, any phrases: [String] = [], all groups: [[String]] = [],
                patterns: [String] = [], stream: CapturedStream = .any, exitCodes: [Int32]? = nil, retryable: Bool? = nil,
                hint: String? = nil) {
        self.name = name
        self.code = code
        self.phrases = phrases.map { [$0.lowercased()] } + groups.map { $0.map { $0.lowercased() } }
        self.patterns = patterns
        self.stream = stream
        self.exitCodes = exitCodes
        self.retryable = retryable
        self.hint = hint
    }
}

extension ClassificationRule {
    /// The built-in rules, most specific first. Phrases come from llama.cpp's own format strings
    /// (current and older wordings, docs/errors.md), Python and the shell.
    public static let builtIn: [ClassificationRule] = [
        ClassificationRule("llama.arguments", .badArguments, any: [
            "error: invalid argument:", "error: unknown argument:", "error while handling argument",
            "error while handling environment variable", "error: --model is required",
            "the argument has been removed", "error: unknown value for --",
            "error: the supplied chat template is not supported",
        ], stream: .stderr),
        // Python's argparse exits 2 after a usage line.
        ClassificationRule("argparse", .badArguments, any: [
            "error: unrecognized arguments:", "error: the following arguments are required:", "error: argument ",
        ], stream: .stderr, exitCodes: [2]),
        ClassificationRule("llama.model-unreadable", .permissionDenied,
                           all: [["failed to open gguf file", "(permission denied)"]], stream: .stderr),
        ClassificationRule("llama.model-missing", .modelNotFound, any: [
            "failed to open gguf file", "failed to load gguf split from", "error loading model: failed to open",
        ], stream: .stderr),
        ClassificationRule("llama.not-gguf", .modelInvalid, any: [
            "invalid magic characters", "invalid magic number", "failed to read magic",
        ], stream: .stderr),
        ClassificationRule("llama.gguf-version", .modelUnsupported, any: [
            "bad gguf version", "ggufv1 is no longer supported", "but this software only supports up to version",
            "mismatch between the host and model endianness",
        ], stream: .stderr),
        ClassificationRule("llama.truncated", .modelCorrupt, any: [
            "data is not within the file bounds", "failed to read header", "failed to read key-value pairs",
            "failed to read tensor info", "failed to seek to beginning of data section", "failed to read tensor data",
            "exceeds remaining file size", "tensors expected but", "unexpectedly reached end of file",
        ], stream: .stderr),
        ClassificationRule("llama.unsupported-model", .modelUnsupported, any: [
            "unknown model architecture", "unknown pre-tokenizer type", "unknown tokenizer:", "has invalid ggml type",
            "missing tensor '", "has wrong shape; expected", "cannot be used as main model",
        ], stream: .stderr),
        // An allocation failure for the KV cache (or --fit giving up on the context) means the
        // requested context does not fit, whichever memory ran out: lowering -c is the fix.
        ClassificationRule("llama.context", .contextTooLarge, any: [
            "failed to allocate buffer for kv cache", "failed to allocate buffer for rs cache", "kv_cache_init() failed",
            "failed to initialize memory module", "was unable to fit model into system memory by reducing context",
            "failed to allocate compute pp buffers", "failed to allocate compute tg buffers",
        ], all: [
            // `-c 999999999`: the context's own arrays cannot be allocated (std::bad_alloc), however
            // much memory is free: the same command fails the same way, a smaller -c does not.
            ["failed to initialize the context", "bad_alloc"],
        ], stream: .stderr),
        // PyTorch's caching allocator (CUDA, and ROCm's HIP build), seen on an H200
        // (bench/results/gpu-device-2026-12-04-3-nvml-fixed.txt): its own advice, not llama.cpp's.
        ClassificationRule("torch.oom", .gpuOutOfMemory, any: [
            "torch.outofmemoryerror", "torch.cuda.outofmemoryerror", "cuda out of memory. tried to allocate",
            "hip out of memory. tried to allocate",
        ], hint: "lower the batch size or sequence length, or use a smaller model or dtype; if PyTorch reserved far more than "
            + "it allocated, set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True; nvidia-smi shows who else holds GPU memory"),
        ClassificationRule("gpu.oom", .gpuOutOfMemory, any: [
            "cudamalloc failed: out of memory", "hipmalloc failed", "hiperroroutofmemory", "cuda error: out of memory",
            "rocm error: out of memory", "musa error: out of memory", "erroroutofdevicememory",
            "vk_error_out_of_device_memory", "kiogpucommandbuffercallbackerroroutofmemory",
            "failed to allocate cuda", "unable to allocate cuda", "failed to allocate rocm", "unable to allocate rocm",
            "failed to allocate vulkan", "unable to allocate vulkan", "failed to allocate mtl", "unable to allocate mtl",
            "failed to allocate sycl", "unable to allocate sycl", "cuda out of memory", "cl_out_of_resources",
        ], all: [
            ["ggml_vulkan:", "memory allocation of size"], ["failed to allocate metal buffer", "out of memory"],
            ["can't allocate", "bytes of memory on device"],
        ]),
        ClassificationRule("host.oom", .hostOutOfMemory, any: [
            "insufficient memory (attempted to allocate", "ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate",
            "failed to allocate cpu", "unable to allocate cpu", "ggml_malloc: failed to allocate",
            "ggml_calloc: failed to allocate", "std::bad_alloc", "cannot allocate memory", "memoryerror",
        ], all: [["failed to allocate", "_host buffer"], ["can't allocate", "bytes of memory on host"]]),
        ClassificationRule("llama.prompt", .promptTooLong, any: [
            "prompt is too long (", "exceeds the available context size", "is larger than the max context size",
            "is too large to process. increase the physical batch size", "context size has been exceeded",
        ]),
        ClassificationRule("abort", .aborted, any: [
            "ggml_assert(", "ggml_abort", "terminate called after throwing an instance of", "assertion `",
            "assertion failed", "cuda error:", "vk::devicelosterror", "errordevicelost", "device lost on",
        ], stream: .stderr),
        ClassificationRule("llama.load", .modelLoadFailed, any: [
            "error loading model:", "failed to load model", "error: unable to load model",
            "exiting due to model loading error", "the server exited before becoming ready", "no backends are loaded",
            "failed to initialize the context", "error: unable to create context",
        ]),
        // llama-server's bind failure; Python's OSError errno 98, Node's and Go's wordings.
        ClassificationRule("net.address-in-use", .addressInUse, any: [
            "couldn't bind http server socket", "address already in use", "eaddrinuse",
        ]),
        ClassificationRule("interrupted", .interrupted, any: ["interrupted by user"]),
        ClassificationRule("shell.not-found", .commandNotFound, any: [": not found", "command not found"],
                           stream: .stderr, exitCodes: [127]),
        ClassificationRule("shell.permission", .permissionDenied, any: ["permission denied"],
                           stream: .stderr, exitCodes: [126]),
    ]
}
