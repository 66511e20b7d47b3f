/// `attempt.start`: written as soon as the child runs (or could not be started).
public struct AttemptStart: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var pid: Int64?
    public var executable: String?
    public var command: [String] = []
    /// `--simulate`: nothing was started.
    public var simulated = false
    /// The pre-flight check stopped it before it started.
    public var preflight = false
    /// The model was cooling down: it was not started, its fallback follows.
    public var cooldown = false
    /// The run (trace id) whose edit this attempt starts from (`[memory]`).
    public var learntFrom: String?

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("pid", pid)
        r.add("executable", executable)
        r.add("command_args", arguments: command)
        if simulated { r.add("simulated", true) }
        if preflight { r.add("preflight", true) }
        if cooldown { r.add("cooldown", true) }
        if let learntFrom { r.add("learnt_from", learntFrom) }
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        pid = o.int("pid")
        executable = o.string("executable")
        command = o.strings("command_args") ?? []
        simulated = o.bool("simulated") ?? false
        preflight = o.bool("preflight") ?? false
        cooldown = o.bool("cooldown") ?? false
        learntFrom = o.string("learnt_from")
    }
}

/// `sample` (with `--samples`): one reading of the tree, the system and the GPUs.
public struct Sample: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var elapsedSeconds: Double = 0
    public var rssMB: Double = 0
    public var cpuPercent: Double?
    public var threads: Int64 = 0
    public var processes: Int64 = 0
    public var systemMemoryAvailableMB: Double?
    public var swapUsedMB: Double?
    public var load1: Double?
    public var gpuUtilizationPercent: Double?
    public var gpuMemoryUsedMB: Double?
    public var gpuPowerW: Double?
    public var childGPUMemoryMB: Double?

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("elapsed_s", elapsedSeconds)
        r.add("rss_mb", rssMB, decimals: 1)
        r.add("cpu_percent", cpuPercent, decimals: 1)
        r.add("threads", threads)
        r.add("processes", processes)
        r.add("system_memory_available_mb", systemMemoryAvailableMB, decimals: 0)
        r.add("swap_used_mb", swapUsedMB, decimals: 0)
        r.add("load_1m", load1, decimals: 2)
        r.add("gpu_utilization_percent", gpuUtilizationPercent)
        r.add("gpu_memory_used_mb", gpuMemoryUsedMB)
        r.add("gpu_power_w", gpuPowerW)
        r.add("child_gpu_memory_mb", childGPUMemoryMB)
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        elapsedSeconds = o.double("elapsed_s") ?? 0
        rssMB = o.double("rss_mb") ?? 0
        cpuPercent = o.double("cpu_percent")
        threads = o.int("threads") ?? 0
        processes = o.int("processes") ?? 0
        systemMemoryAvailableMB = o.double("system_memory_available_mb")
        swapUsedMB = o.double("swap_used_mb")
        load1 = o.double("load_1m")
        gpuUtilizationPercent = o.double("gpu_utilization_percent")
        gpuMemoryUsedMB = o.double("gpu_memory_used_mb")
        gpuPowerW = o.double("gpu_power_w")
        childGPUMemoryMB = o.double("child_gpu_memory_mb")
    }
}

/// The end of a captured stream. `cutAtStart`: it lost its beginning, so the redactor also masks
/// a key fragment at its start. A record read back holds the text as written (already masked).
public struct OutputText: Equatable, Sendable {
    public var text: String
    public var cutAtStart: Bool

    public init(_ text: String, cutAtStart: Bool = false) {
        self.text = text
        self.cutAtStart = cutAtStart
    }

    public init(bytes: [UInt8], cutAtStart: Bool) {
        self.init(String(decoding: bytes, as: UTF8.self), cutAtStart: cutAtStart)
    }
}

extension JSONLine {
    /// llama.cpp's five figures (attempt.end, `airun classify --json`).
    public mutating func add(performance: LlamaPerformance) {
        add("load_time_ms", performance.loadTimeMs)
        add("prompt_tokens", performance.promptTokens)
        add("prompt_tokens_per_second", performance.promptTokensPerSecond)
        add("tokens_generated", performance.tokensGenerated)
        add("tokens_per_second", performance.tokensPerSecond)
    }

    mutating func add(_ name: String, output: OutputText) {
        add(name, bytes: Array(output.text.utf8), cutAtStart: output.cutAtStart)
    }
}

/// The sampled figures of an attempt (docs/records.md, "Resources").
public struct AttemptResources: Equatable, Sendable {
    public var sampleCount: Int64 = 0
    public var peakRSSMB: Double?
    public var meanCPUPercent: Double?
    public var peakThreads: Int64?
    public var minSystemMemoryAvailableMB: Double?
    public var peakGPUMemoryUsedMB: Double?
    public var peakChildGPUMemoryMB: Double?
    public var meanGPUUtilizationPercent: Double?
    public var peakGPUPowerW: Double?
    public var gpuEnergyJoules: Double?
    /// Free GPU memory at the last reading: for the error record's context, not attempt.end.
    public var gpuMemoryAvailableMB: Double?

    public init() {}

    public init(_ s: ResourceSummary) {
        sampleCount = Int64(s.sampleCount)
        peakRSSMB = s.peakRSSMB
        meanCPUPercent = s.meanCPUPercent
        peakThreads = s.peakThreads
        minSystemMemoryAvailableMB = s.minMemoryAvailableMB
        peakGPUMemoryUsedMB = s.peakGPUMemoryUsedMB
        peakChildGPUMemoryMB = s.peakChildGPUMemoryMB
        meanGPUUtilizationPercent = s.meanGPUUtilizationPercent
        peakGPUPowerW = s.peakGPUPowerW
        gpuEnergyJoules = s.gpuEnergyJoules
        gpuMemoryAvailableMB = s.gpuMemoryAvailableMB
    }
}

/// `attempt.end`: how one attempt ended, timed and measured.
public struct AttemptEnd: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var pid: Int64?
    /// `succeeded`, `failed`, `signaled`, `timed_out`, `not_found`, `not_executable`, `airun_error`.
    public var status = AttemptStatus.succeeded
    /// What airun exits with for this attempt (128+N for signal N, 124 after a timeout).
    public var exitCode: Int64 = 0
    /// The child's own exit code; nil if a signal killed it.
    public var returnCode: Int64?
    public var signal: String?
    public var coreDumped = false
    public var timedOut = false
    public var receivedSignal: String?
    public var startedMicroseconds: Int64 = 0
    public var endedMicroseconds: Int64 = 0
    public var durationMs: Double = 0
    public var timeToFirstOutputMs: Double?
    public var userCPUMs: Double?
    public var systemCPUMs: Double?
    public var maxRSSMB: Double?
    public var tty = false
    /// The command's stdout and stderr were one destination (`2>&1`): it got one channel for both,
    /// whose tail is `stderr_tail` (and the error record's `stderr`).
    public var outputMerged = false
    public var stdoutBytes: Int64 = 0
    public var stderrBytes: Int64 = 0
    /// Only for an attempt that succeeded: a failed one's tails are in its error record.
    public var stdoutTail: OutputText?
    public var stderrTail: OutputText?
    public var outputLost: String?
    public var stdoutFile: String?
    public var stderrFile: String?
    /// Only when the command could not be started.
    public var spawnError: String?
    /// `--simulate`: the attempt did not run; it ended as its code typically does.
    public var simulated = false
    /// The pre-flight check found the failure before the model loaded: nothing was started.
    public var preflight = false
    /// The model was cooling down: nothing was started.
    public var cooldown = false
    public var modelID: String?
    public var modelPath: String?
    /// Written only when llama.cpp printed figures.
    public var performance = LlamaPerformance()
    /// Written only when the attempt was sampled.
    public var resources: AttemptResources?
    public var callerTraceID: String?
    public var tags = Tags()

    public init() {}

    /// Tokens per joule: what a person choosing a model for a GPU compares.
    public var tokensPerJoule: Double? {
        guard let tokens = performance.tokensGenerated, let joules = resources?.gpuEnergyJoules, joules > 0 else { return nil }
        return Double(tokens) / joules
    }

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("pid", pid)
        r.add("status", status: status)
        r.add("exit_code", exitCode)
        r.add("return_code", returnCode)
        r.add("signal", signal)
        r.add("core_dumped", coreDumped)
        r.add("timed_out", timedOut)
        r.add("received_signal", receivedSignal)
        r.add("started_at", timestampMicroseconds: startedMicroseconds)
        r.add("ended_at", timestampMicroseconds: endedMicroseconds)
        r.add("duration_ms", durationMs)
        r.add("time_to_first_output_ms", timeToFirstOutputMs)
        r.add("user_cpu_ms", userCPUMs)
        r.add("system_cpu_ms", systemCPUMs)
        r.add("max_rss_mb", maxRSSMB, decimals: 1)
        r.add("tty", tty)
        r.add("output_merged", outputMerged)
        r.add("stdout_bytes", stdoutBytes)
        r.add("stderr_bytes", stderrBytes)
        if let stdoutTail { r.add("stdout_tail", output: stdoutTail) }
        if let stderrTail { r.add("stderr_tail", output: stderrTail) }
        r.add("output_lost", outputLost)
        r.add("stdout_file", stdoutFile)
        r.add("stderr_file", stderrFile)
        if let spawnError { r.add("spawn_error", spawnError) }
        if simulated { r.add("simulated", true) }
        if preflight { r.add("preflight", true) }
        if cooldown { r.add("cooldown", true) }
        r.add("model_id", modelID)
        r.add("model_path", modelPath)
        if !performance.isEmpty { r.add(performance: performance) }
        if let res = resources {
            r.add("sample_count", res.sampleCount)
            r.add("peak_rss_mb", res.peakRSSMB, decimals: 1)
            r.add("mean_cpu_percent", res.meanCPUPercent, decimals: 1)
            r.add("peak_threads", res.peakThreads)
            r.add("min_system_memory_available_mb", res.minSystemMemoryAvailableMB, decimals: 0)
            r.add("peak_gpu_memory_used_mb", res.peakGPUMemoryUsedMB, decimals: 0)
            r.add("peak_child_gpu_memory_mb", res.peakChildGPUMemoryMB, decimals: 0)
            r.add("mean_gpu_utilization_percent", res.meanGPUUtilizationPercent, decimals: 1)
            r.add("peak_gpu_power_w", res.peakGPUPowerW, decimals: 1)
            r.add("gpu_energy_joules", res.gpuEnergyJoules, decimals: 1)
            if let tpj = tokensPerJoule { r.add("tokens_per_joule", tpj, decimals: 4) }
        }
        r.add("caller_trace_id", callerTraceID)
        r.add(tags: tags)
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        pid = o.int("pid")
        status = AttemptStatus(rawValue: o.string("status") ?? "")
        exitCode = o.int("exit_code") ?? 0
        returnCode = o.int("return_code")
        signal = o.string("signal")
        coreDumped = o.bool("core_dumped") ?? false
        timedOut = o.bool("timed_out") ?? false
        receivedSignal = o.string("received_signal")
        startedMicroseconds = o.string("started_at").flatMap(parseRFC3339) ?? 0
        endedMicroseconds = o.string("ended_at").flatMap(parseRFC3339) ?? 0
        durationMs = o.double("duration_ms") ?? 0
        timeToFirstOutputMs = o.double("time_to_first_output_ms")
        userCPUMs = o.double("user_cpu_ms")
        systemCPUMs = o.double("system_cpu_ms")
        maxRSSMB = o.double("max_rss_mb")
        tty = o.bool("tty") ?? false
        outputMerged = o.bool("output_merged") ?? false
        stdoutBytes = o.int("stdout_bytes") ?? 0
        stderrBytes = o.int("stderr_bytes") ?? 0
        stdoutTail = o.string("stdout_tail").map { OutputText($0) }
        stderrTail = o.string("stderr_tail").map { OutputText($0) }
        outputLost = o.string("output_lost")
        stdoutFile = o.string("stdout_file")
        stderrFile = o.string("stderr_file")
        spawnError = o.string("spawn_error")
        simulated = o.bool("simulated") ?? false
        preflight = o.bool("preflight") ?? false
        cooldown = o.bool("cooldown") ?? false
        modelID = o.string("model_id")
        modelPath = o.string("model_path")
        performance.loadTimeMs = o.double("load_time_ms")
        performance.promptTokens = o.int("prompt_tokens").map { Int(clamping: $0) }
        performance.promptTokensPerSecond = o.double("prompt_tokens_per_second")
        performance.tokensGenerated = o.int("tokens_generated").map { Int(clamping: $0) }
        performance.tokensPerSecond = o.double("tokens_per_second")
        if let count = o.int("sample_count") {
            var res = AttemptResources()
            res.sampleCount = count
            res.peakRSSMB = o.double("peak_rss_mb")
            res.meanCPUPercent = o.double("mean_cpu_percent")
            res.peakThreads = o.int("peak_threads")
            res.minSystemMemoryAvailableMB = o.double("min_system_memory_available_mb")
            res.peakGPUMemoryUsedMB = o.double("peak_gpu_memory_used_mb")
            res.peakChildGPUMemoryMB = o.double("peak_child_gpu_memory_mb")
            res.meanGPUUtilizationPercent = o.double("mean_gpu_utilization_percent")
            res.peakGPUPowerW = o.double("peak_gpu_power_w")
            res.gpuEnergyJoules = o.double("gpu_energy_joules")
            resources = res
        }
        callerTraceID = o.string("caller_trace_id")
        tags = Tags(o.object("tags"))
    }
}

/// Where a failure happened: the machine, its free memory, and the model file's header.
public struct FailureContext: Equatable, Sendable {
    public var platform = "linux"
    public var wslAvailable = false
    public var systemMemoryAvailableMB: Double?
    public var gpuMemoryAvailableMB: Double?
    public var hostname = ""
    public var user = ""
    public var cwd: String?
    public var airunVersion = AirunCore.airunVersion
    public var modelFile: GGUFCheck?

    public init() {}

    func encode(into c: inout JSONLine) {
        c.add("platform", platform)
        c.add("wsl_available", wslAvailable)
        c.add("system_memory_available_mb", systemMemoryAvailableMB, decimals: 0)
        c.add("gpu_memory_available_mb", gpuMemoryAvailableMB, decimals: 0)
        c.add("hostname", hostname)
        c.add("user", user)
        c.add("cwd", cwd)
        c.add("airun_version", airunVersion)
        if let check = modelFile {
            var m = JSONLine(redacting: c.redactor)
            m.add("exists", check.exists)
            m.add("size_bytes", check.sizeBytes)
            m.add("magic", check.magic)
            m.add("gguf_version", check.version.map { Int64($0) })
            m.add("tensor_count", check.tensorCount)
            m.add("architecture", check.architecture)
            m.add("problem", check.problem)
            c.add("model_file", object: m)
        }
    }

    init(_ o: JSONObject) {
        platform = o.string("platform") ?? ""
        wslAvailable = o.bool("wsl_available") ?? false
        systemMemoryAvailableMB = o.double("system_memory_available_mb")
        gpuMemoryAvailableMB = o.double("gpu_memory_available_mb")
        hostname = o.string("hostname") ?? ""
        user = o.string("user") ?? ""
        cwd = o.string("cwd")
        airunVersion = o.string("airun_version") ?? ""
        if let m = o.object("model_file") {
            var check = GGUFCheck(exists: m.bool("exists") ?? false, sizeBytes: m.int("size_bytes"), problem: m.string("problem"))
            check.magic = m.string("magic")
            check.version = m.int("gguf_version").map { UInt32(clamping: $0) }
            check.tensorCount = m.int("tensor_count")
            check.architecture = m.string("architecture")
            modelFile = check
        }
    }
}

/// `error`: why an attempt failed, with what it needs to be acted on (brief §5). Named so as not
/// to shadow Swift's `Error`.
public struct AttemptError: Equatable, Sendable {
    public var errorCode = ErrorCode.nonzeroExit.rawValue
    public var errorCategory = ErrorCategory.application.rawValue
    public var retryable = true
    public var evidence = ""
    public var classifiedBy = "exit-status"
    public var evidenceLost = false
    public var attempt: Int64 = 1
    public var returnCode: Int64?
    public var signal: String?
    public var modelID: String?
    public var modelPath: String?
    public var command: [String] = []
    public var stderr = OutputText("")
    public var stdout = OutputText("")
    public var durationMs: Double = 0
    public var exceptionType: String?
    public var stackTrace: String?
    public var context = FailureContext()
    public var callerTraceID: String?
    public var tags = Tags()

    public init() {}

    /// The verdict's fields.
    public init(_ verdict: Verdict) {
        errorCode = verdict.code.rawValue
        errorCategory = verdict.category.rawValue
        retryable = verdict.retryable
        evidence = verdict.evidence
        classifiedBy = verdict.rule
        evidenceLost = verdict.evidenceLost
    }

    func encode(into r: inout JSONLine) {
        r.add("error_code", errorCode)
        r.add("error_category", errorCategory)
        r.add("retryable", retryable)
        r.add("evidence", evidence)
        r.add("classified_by", classifiedBy)
        r.add("evidence_lost", evidenceLost)
        r.add("attempt", attempt)
        r.add("return_code", returnCode)
        r.add("signal", signal)
        r.add("model_id", modelID)
        r.add("model_path", modelPath)
        r.add("command_args", arguments: command)
        r.add("stderr", output: stderr)
        r.add("stdout", output: stdout)
        r.add("duration_ms", durationMs)
        r.add("retry_count", attempt - 1)
        r.add("exception_type", exceptionType)
        r.add("stack_trace", stackTrace)
        var c = JSONLine(redacting: r.redactor)
        context.encode(into: &c)
        r.add("context", object: c)
        r.add("caller_trace_id", callerTraceID)
        r.add(tags: tags)
    }

    init(_ o: JSONObject) {
        errorCode = o.string("error_code") ?? ""
        errorCategory = o.string("error_category") ?? ""
        retryable = o.bool("retryable") ?? false
        evidence = o.string("evidence") ?? ""
        classifiedBy = o.string("classified_by") ?? ""
        evidenceLost = o.bool("evidence_lost") ?? false
        attempt = o.int("attempt") ?? 1
        returnCode = o.int("return_code")
        signal = o.string("signal")
        modelID = o.string("model_id")
        modelPath = o.string("model_path")
        command = o.strings("command_args") ?? []
        stderr = OutputText(o.string("stderr") ?? "")
        stdout = OutputText(o.string("stdout") ?? "")
        durationMs = o.double("duration_ms") ?? 0
        exceptionType = o.string("exception_type")
        stackTrace = o.string("stack_trace")
        context = FailureContext(o.object("context") ?? JSONObject())
        callerTraceID = o.string("caller_trace_id")
        tags = Tags(o.object("tags"))
    }
}
