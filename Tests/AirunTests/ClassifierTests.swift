import AirunCore
import Foundation
import Testing

/// One row of the classification table: what an attempt left, and the code it must get.
struct ClassificationCase: CustomTestStringConvertible, Sendable {
    let name: String
    let facts: AttemptFacts
    /// nil: the attempt succeeded and must not be classified. Several: any of them is right.
    let expected: [ErrorCode]?
    var testDescription: String { name }

    static func fixture(_ path: String, _ expected: ErrorCode?..., timedOut: Bool = false) -> ClassificationCase {
        let c = Fixture.capture(path)
        let codes = expected.compactMap { $0 }
        return ClassificationCase(name: path, facts: AttemptFacts(exitCode: c.exitCode == 124 && timedOut ? nil : c.exitCode,
                                                                  signal: timedOut ? "SIGTERM" : nil, timedOut: timedOut,
                                                                  stdout: c.stdout, stderr: c.stderr),
                                  expected: codes.isEmpty ? nil : codes)
    }

    static func text(_ name: String, _ stderr: String, exit: Int32? = 1, signal: Signal? = nil, stdout: String = "",
                     _ expected: ErrorCode?) -> ClassificationCase {
        ClassificationCase(name: name, facts: AttemptFacts(exitCode: exit, signal: signal, stdout: stdout, stderr: stderr),
                           expected: expected.map { [$0] })
    }
}

@Suite("classification", .offPool)
struct ClassifierTests {
    static let cases: [ClassificationCase] = [
        // Real captures.
        .fixture("llama.cpp/completion-missing-model", .modelNotFound),
        .fixture("llama.cpp/completion-truncated-model", .modelCorrupt),
        .fixture("llama.cpp/completion-not-gguf", .modelInvalid),
        .fixture("llama.cpp/completion-host-oom", .hostOutOfMemory, .contextTooLarge),
        // `-c 999999999` under a 3 GB address-space limit: the context's arrays cannot be allocated.
        .fixture("llama.cpp/completion-ctx-bad-alloc", .contextTooLarge),
        .fixture("llama.cpp/completion-bad-arg", .badArguments),
        .fixture("llama.cpp/completion-bad-value", .badArguments),
        // `-c 4000000000` overflows llama.cpp's integer parsing: rejected as an argument before any allocation.
        .fixture("llama.cpp/completion-ctx-too-large", .badArguments),
        .fixture("llama.cpp/cli-missing-model", .modelNotFound),
        .fixture("llama.cpp/completion-ok", nil),
        .fixture("llama.cpp/cli-single-turn", nil),
        .fixture("llama.cpp-cuda/cuda-oom-kv", .gpuOutOfMemory, .contextTooLarge),
        .fixture("llama.cpp-cuda/cuda-missing-model", .modelNotFound),
        .fixture("llama.cpp-cuda/cuda-completion-ok", nil),
        .fixture("llama.cpp-cuda/cuda-oom-kv-fit", .timeout, timedOut: true),
        .fixture("python/router-filenotfound", .modelNotFound),
        // llama-server whose port is taken (its own line), and a Python service's bind (errno 98).
        .text("llama-server port taken", "0.00.004.706 E srv         start: couldn't bind HTTP server socket, hostname: 127.0.0.1, port: 8080\n", .addressInUse),
        .text("Python bind", "Traceback (most recent call last):\n  File \"serve.py\", line 9, in <module>\n    s.bind((\"\", 8000))\nOSError: [Errno 98] Address already in use\n", .addressInUse),
        .text("H200 torch.OutOfMemoryError", Fixture.text("gpu/gpu-oom-torch.txt"), .gpuOutOfMemory),
        // Written from llama.cpp's format strings (docs/errors.md cites each).
        .text("Vulkan device allocation", """
            ggml_vulkan: Device memory allocation of size 8589934592 failed.
            ggml_vulkan: vk::Device::allocateMemory: ErrorOutOfDeviceMemory
            0.00.412.001 E llama_model_load: error loading model: unable to allocate Vulkan0 buffer
            """, .gpuOutOfMemory),
        .text("Metal buffer", "0.00.300.000 E ggml_backend_metal_buffer_type_alloc_buffer: failed to allocate Metal buffer of 17179869184 bytes (out of memory)", .gpuOutOfMemory),
        .text("Metal runtime", """
            ggml_metal_synchronize: error: command buffer 1 failed with status 5
            error: Insufficient Memory (00000008:kIOGPUCommandBufferCallbackErrorOutOfMemory)
            """, .gpuOutOfMemory),
        .text("ROCm", "0.00.900.000 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 51748.72 MiB on device 1: cudaMalloc failed: hipErrorOutOfMemory", .gpuOutOfMemory),
        .text("CUDA runtime OOM abort", """
            0.02.000.000 E CUDA error: out of memory
              current device: 0, in function alloc at /llama.cpp/ggml/src/ggml-cuda/ggml-cuda.cu:583
              cuMemCreate(&handle, reserve_size, &prop, 0)
            /llama.cpp/ggml/src/ggml-cuda/ggml-cuda.cu:109: CUDA error
            """, exit: nil, signal: "SIGABRT", .gpuOutOfMemory),
        .text("unknown architecture", "0.00.050.000 E llama_model_load: error loading model: unknown model architecture: 'gemma4'", .modelUnsupported),
        .text("GGUF version", "0.00.001.000 E gguf_init_from_reader: this GGUF file is version 4 but this software only supports up to version 3", .modelUnsupported),
        .text("unknown pre-tokenizer", "0.00.080.000 E llama_model_load: error loading model: error loading model vocabulary: unknown pre-tokenizer type: 'qwen35'", .modelUnsupported),
        .text("git-lfs pointer", "0.00.001.000 E gguf_init_from_reader: invalid magic characters: 'vers', expected 'GGUF'", .modelInvalid),
        .text("GGML_ASSERT", "/llama.cpp/ggml/src/ggml-backend.cpp:262: GGML_ASSERT(buf != NULL && \"tensor buffer not set\") failed", exit: nil, signal: "SIGABRT", .aborted),
        .text("uncaught C++ exception", "terminate called after throwing an instance of 'std::runtime_error'\n  what():  vk::Queue::submit: ErrorDeviceLost", exit: nil, signal: "SIGABRT", .aborted),
        .text("bad_alloc", "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc", exit: nil, signal: "SIGABRT", .hostOutOfMemory),
        .text("prompt too long", "0.00.120.000 E llama_completion: prompt is too long (5000 tokens, max 4092)", .promptTooLong),
        .text("llama-cli prompt too long (stdout)", "", stdout: "Error: request (9000 tokens) exceeds the available context size (4096 tokens), try increasing it", .promptTooLong),
        .text("model permission denied", "0.00.004.000 E gguf_init_from_file: failed to open GGUF file '/m/x.gguf' (Permission denied)", .permissionDenied),
        .text("context creation without OOM detail", "0.00.300.000 E llama_init_from_model: failed to initialize the context: failed to allocate buffer for kv cache", .contextTooLarge),
        .text("generic load failure", "0.00.300.000 E llama_model_load_from_file_impl: no backends are loaded. hint: use ggml_backend_load() or ggml_backend_load_all()", .modelLoadFailed),
        .text("argparse", "usage: router.py [-h] --prompt PROMPT\nrouter.py: error: the following arguments are required: --prompt", exit: 2, .badArguments),
        .text("Python ValueError", "Traceback (most recent call last):\n  File \"r.py\", line 3, in <module>\n    int(\"x\")\nValueError: invalid literal for int() with base 10: 'x'", .pythonException),
        .text("shell: not found", "sh: 1: llama-completion: not found", exit: 127, .commandNotFound),
        .text("llama interrupted", "", exit: 130, stdout: "Interrupted by user", .interrupted),
        .text("SIGKILL, small", "", exit: nil, signal: "SIGKILL", .killedBySignal),
        .text("SIGSEGV", "", exit: nil, signal: "SIGSEGV", .aborted),
        .text("no evidence", "something went wrong\n", exit: 3, .nonzeroExit),
        .text("OOM lines in a run that recovered", "0.00.100.000 E ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9000.00 MiB on device 0: cudaMalloc failed: out of memory\n0.00.100.001 W sched_reserve: compute buffer allocation failed, retrying without pipeline parallelism", exit: 0, nil),
        ClassificationCase(name: "OOM killer", facts: AttemptFacts(exitCode: nil, signal: "SIGKILL", maxRSSMegabytes: 15000, memoryLimitMegabytes: 16000), expected: [.oomKilled]),
        ClassificationCase(name: "interrupted through airun", facts: AttemptFacts(exitCode: nil, signal: "SIGTERM", receivedSignal: "SIGTERM"), expected: [.interrupted]),
        ClassificationCase(name: "command not found (spawn)", facts: AttemptFacts(exitCode: 127, spawnFailure: "not_found"), expected: [.commandNotFound]),
        ClassificationCase(name: "not executable (spawn)", facts: AttemptFacts(exitCode: 126, spawnFailure: "not_executable"), expected: [.permissionDenied]),
    ]

    @Test("verdicts over real captures and llama.cpp's own message formats", arguments: cases)
    func classify(_ c: ClassificationCase) throws {
        let verdict = Classifier().classify(c.facts)
        guard let expected = c.expected else {
            #expect(verdict == nil, "a successful attempt must not be classified: \(String(describing: verdict))")
            return
        }
        let v = try #require(verdict)
        #expect(expected.contains(v.code), "\(c.name): got \(v.code.rawValue) from '\(v.evidence)'")
        #expect(v.category == v.code.category)
        #expect(!v.evidence.isEmpty)
        #expect(!v.evidence.hasPrefix("0.0"), "the llama.cpp log prefix is stripped from evidence")
    }

    @Test("every error code is reached by some case of the table, and each case's verdict is that code alone")
    func everyCodeCovered() throws {
        var reached: Set<ErrorCode> = []
        for c in Self.cases {
            guard let expected = c.expected else { continue }
            let v = try #require(Classifier().classify(c.facts), "\(c.name)")
            if expected.count == 1 { reached.insert(v.code) }
        }
        // TIMEOUT and OUTPUT_LOST are airun's own findings, not read from output: held here directly.
        let timeout = Classifier().classify(AttemptFacts(exitCode: nil, signal: "SIGTERM", timedOut: true))
        let lost = Classifier().classify(AttemptFacts(exitCode: 0, outputLost: "stdout: No space left on device"))
        if let timeout { reached.insert(timeout.code) }
        if let lost { reached.insert(lost.code) }
        // A server that airun stopped: not ready in time (even on exit 0 after SIGTERM), over its memory limit.
        var notReady = AttemptFacts(exitCode: 0, stderr: "loading model\n")
        notReady.stoppedBy = .readyTimeout(.seconds(2))
        var overMemory = AttemptFacts(exitCode: nil, signal: .terminate)
        overMemory.stoppedBy = .memoryLimit(limitBytes: 1 << 30, rssMB: 1100)
        let ready = try #require(Classifier().classify(notReady))
        #expect(ready.code == .readyTimeout && ready.evidence == "not ready within 2s; its last line: loading model")
        let memory = try #require(Classifier().classify(overMemory))
        #expect(memory.code == .memoryLimit && memory.evidence == "its processes' resident memory 1100 MiB passed --max-memory 1024 MiB")
        reached.formUnion([ready.code, memory.code])
        let missing = Set(ErrorCode.allCases).subtracting(reached).map(\.rawValue).sorted()
        #expect(missing.isEmpty, "no case decides \(missing)")
    }

    @Test("profile rules come first and can override retryability")
    func extraRules() throws {
        let rule = ClassificationRule("site.flaky-nfs", .killedBySignal, patterns: [#"Stale (file|NFS) handle"#], retryable: true)
        let v = try #require(Classifier(extraRules: [rule]).classify(AttemptFacts(exitCode: 1, stderr: "read: Stale NFS handle\n")))
        #expect(v.code == .killedBySignal && v.rule == "site.flaky-nfs" && v.retryable)
    }

    @Test("Python tracebacks: the last exception's type, message and stack")
    func python() throws {
        let e = try #require(PythonException.parse(Fixture.capture("python/router-filenotfound").stderr))
        #expect(e.type == "FileNotFoundError")
        #expect(e.message.hasPrefix("[Errno 2] No such file or directory: '/mnt/d/models/"))
        #expect(e.stackTrace.hasPrefix("Traceback (most recent call last):"))
        #expect(e.stackTrace.hasSuffix(e.line))
        let torch = try #require(PythonException.parse(Fixture.text("gpu/gpu-oom-torch.txt")))
        #expect(torch.type == "torch.OutOfMemoryError")
        #expect(PythonException.parse("no traceback here") == nil)
    }
}

@Suite("llama.cpp figures", .offPool)
struct LlamaPerformanceTests {
    @Test("common_perf_print block of a CUDA run")
    func completion() {
        let c = Fixture.capture("llama.cpp-cuda/cuda-completion-ok")
        let p = LlamaPerformance.parse(stderr: c.stderr, stdout: c.stdout)
        #expect(p.loadTimeMs == 241.92)
        #expect(p.promptTokens == 17)
        #expect(p.promptTokensPerSecond == 70.31)
        #expect(p.tokensGenerated == 64)
        #expect(p.tokensPerSecond == 5738.23)
    }

    @Test("llama-cli's rates line")
    func cli() {
        let c = Fixture.capture("llama.cpp/cli-single-turn")
        let p = LlamaPerformance.parse(stderr: c.stderr, stdout: c.stdout)
        #expect(p.promptTokensPerSecond == 59928.4)
        #expect(p.tokensPerSecond == 6555.9)
    }

    @Test("the older llama_perf_context_print form; tags are required")
    func older() {
        let stderr = """
            llama_perf_context_print:        load time =     812.55 ms
            llama_perf_context_print: prompt eval time =     143.21 ms /     8 tokens (   17.90 ms per token,    55.86 tokens per second)
            llama_perf_context_print:        eval time =    1204.77 ms /    15 runs   (   80.32 ms per token,    12.45 tokens per second)
            """
        let p = LlamaPerformance.parse(stderr: stderr, stdout: "eval time = 1 ms / 9 runs (1 ms per token, 999 tokens per second)")
        #expect(p.loadTimeMs == 812.55 && p.promptTokens == 8 && p.tokensGenerated == 16 && p.tokensPerSecond == 12.45)
        #expect(LlamaPerformance.parse(stderr: "", stdout: "eval time = 1 ms / 9 runs (1 ms, 999 tokens per second)").isEmpty)
    }
}

@Suite("model files", .offPool)
struct ModelFileTests {
    /// A GGUF header: magic, version, tensor count, kv count, then general.architecture = arch.
    static func header(version: UInt32 = 3, tensors: UInt64 = 20, arch: String = "llama") -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let key = Array("general.architecture".utf8)
        return Array("GGUF".utf8) + le(version) + le(tensors) + le(UInt64(1)) + le(UInt64(key.count)) + key + le(UInt32(8))
            + le(UInt64(arch.utf8.count)) + Array(arch.utf8)
    }

    @Test("header checks")
    func inspect() {
        let ok = GGUFCheck.inspect(header: Self.header(), size: 500_000)
        #expect(ok.magic == "GGUF" && ok.version == 3 && ok.tensorCount == 20 && ok.architecture == "llama" && ok.problem == nil)
        #expect(GGUFCheck.inspect(header: Self.header(version: 4), size: 100).problem?.contains("version 4") == true)
        #expect(GGUFCheck.inspect(header: Self.header(tensors: 0), size: 100).problem?.contains("vocabulary-only") == true)
        #expect(GGUFCheck.inspect(header: Array("version https://git-lfs.github.com/spec/v1\n".utf8), size: 130).problem?.contains("git-lfs") == true)
        #expect(GGUFCheck.inspect(header: Array("<!DOCTYPE html>".utf8), size: 2000).problem?.contains("HTML") == true)
        #expect(GGUFCheck.inspect(header: [], size: 0).problem?.contains("too short") == true)
        #expect(GGUFCheck.inspect(header: Array(Self.header().prefix(10)), size: 10).problem?.contains("truncated") == true)
        #expect(GGUFCheck.inspect(header: Array("tjgg".utf8) + [0, 0, 0, 0], size: 8).problem?.contains("legacy") == true)
    }

    /// A whole (tiny) GGUF: one key/value, one 4×4 F32 tensor at offset 0, data aligned to 32.
    static func wholeFile() -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        var b = header(tensors: 1)
        let name = Array("blk.0.w".utf8)
        b += le(UInt64(name.count)) + name + le(UInt32(2)) + le(UInt64(4)) + le(UInt64(4)) + le(UInt32(0)) + le(UInt64(0))
        while b.count % 32 != 0 { b.append(0) }
        return b + [UInt8](repeating: 1, count: 64)
    }

    @Test("the tensor data must fit in the file (a truncated download is caught from the header)")
    func extent() throws {
        let file = Self.wholeFile()
        let extent = try #require(dataExtent(file))
        #expect(extent.required == Int64(file.count) && extent.tensors == 1)
        #expect(GGUFCheck.inspect(header: file, size: Int64(file.count)).problem == nil)
        let cut = GGUFCheck.inspect(header: file, size: Int64(file.count - 10))
        #expect(cut.problem?.hasPrefix("truncated") == true)
        #expect(cut.suggestedCode == .modelCorrupt)
        #expect(GGUFCheck(exists: false, problem: "no such file").suggestedCode == .modelNotFound)
        #expect(GGUFCheck.inspect(header: Array("<html>".utf8), size: 6).suggestedCode == .modelInvalid)
    }

    @Test("a failure whose output was lost is classified from the model file")
    func fromFile() throws {
        let cut = GGUFCheck.inspect(header: Self.wholeFile(), size: 50)
        let v = try #require(Classifier().classify(AttemptFacts(exitCode: 1, modelFile: cut)))
        #expect(v.code == .modelCorrupt && v.rule == "model-file")
        let text = try #require(Classifier().classify(AttemptFacts(exitCode: 1, stderr: "error: invalid argument: -x", modelFile: cut)))
        #expect(text.code == .badArguments, "output evidence comes before the file")
    }

    @Test("model argument forms", arguments: [
        (["llama-cli", "-m", "/m/qwen3-8b-q4_k_m.gguf", "-p", "hi"], "/m/qwen3-8b-q4_k_m.gguf"),
        (["llama-cli", "--model", "a.gguf"], "a.gguf"),
        (["python3", "router.py", "--model=/x/llama.gguf"], "/x/llama.gguf"),
        (["llama-cli", "-p", "hi"], nil),
    ])
    func argument(args: [String], path: String?) {
        #expect(ModelArgument.find(in: args)?.path == path)
        if path == "/m/qwen3-8b-q4_k_m.gguf" { #expect(ModelArgument.find(in: args)?.id == "qwen3-8b-q4_k_m") }
    }
}
