@testable import AirunCore
import Foundation
import Testing

/// What runs remember of models: the cool-down (a circuit breaker across runs) and the edits that
/// made a model work, as pure logic, and the state file read from whatever is on disk.
@Suite("memory across runs", .offPool)
struct MemoryTests {
    static let minute: Int64 = 60_000_000

    /// Found by the state fuzz target: a probe time far in the past (an edited model-state.json)
    /// and a check at the end of time overflowed `now - probe` and trapped.
    @Test("times at the ends of Int64 in the state file: no trap, the circuit still decided")
    func extremeTimes() throws {
        let text = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/state/crash-probe-time-overflow.json").path, encoding: .utf8)
        let states = ModelStates(decoding: Array(text.utf8))
        var state = try #require(states.models.first?.value)
        state.startProbe(at: Int64.min + 1)
        #expect(state.circuit(at: Int64.max, policy: CooldownPolicy()) == .halfOpen)
        state.startProbe(at: Int64.max - 1)
        guard case .open(let until, _) = state.circuit(at: Int64.max, policy: CooldownPolicy()) else {
            Issue.record("a probe started a moment ago keeps the circuit open")
            return
        }
        #expect(until == Int64.max, "the probe's end, clamped")
        // Failures at both ends are recorded; the window and the cool-down's end are clamped.
        _ = state.recordFailure(.gpuOutOfMemory, at: Int64.min, policy: CooldownPolicy())
        _ = state.recordFailure(.gpuOutOfMemory, at: Int64.max, policy: CooldownPolicy())
        #expect(state.failures.suffix(2).map(\.time) == [Int64.min, Int64.max])
    }
    static var policy: CooldownPolicy {
        var p = CooldownPolicy()
        p.failures = 3
        p.within = .seconds(300)
        p.period = .seconds(600)
        return p
    }

    @Test("closed, then open after 3 failures in the window; older failures and other codes do not count")
    func opens() {
        var s = ModelState()
        #expect(s.recordFailure(.gpuOutOfMemory, at: 0, policy: Self.policy) == nil)
        #expect(s.recordFailure(.gpuOutOfMemory, at: 10 * Self.minute, policy: Self.policy) == nil)  // the first is out of the window now
        #expect(s.recordFailure(.badArguments, at: 11 * Self.minute, policy: Self.policy) == nil)    // not a listed code
        #expect(s.recordFailure(.gpuOutOfMemory, at: 12 * Self.minute, policy: Self.policy) == nil)
        #expect(s.circuit(at: 12 * Self.minute, policy: Self.policy) == .closed)
        let reason = s.recordFailure(.hostOutOfMemory, at: 13 * Self.minute, policy: Self.policy)
        #expect(reason == "2 × GPU_OOM, 1 × HOST_OOM in 5m")
        #expect(s.circuit(at: 14 * Self.minute, policy: Self.policy) == .open(until: 23 * Self.minute, reason: "2 × GPU_OOM, 1 × HOST_OOM in 5m"))
    }

    @Test("after the period one run tries it (half-open) while others still wait; its failure reopens, a success closes")
    func halfOpen() {
        var s = ModelState()
        for t in 0..<3 { _ = s.recordFailure(.oomKilled, at: Int64(t) * Self.minute, policy: Self.policy) }
        let after = 13 * Self.minute
        #expect(s.circuit(at: after, policy: Self.policy) == .halfOpen)
        s.startProbe(at: after)
        guard case .open(_, let reason) = s.circuit(at: after + Self.minute, policy: Self.policy) else { Issue.record("a second run tried it too"); return }
        #expect(reason.hasSuffix("another run is trying it again"))
        var failed = s
        #expect(failed.recordFailure(.gpuOutOfMemory, at: after + 2 * Self.minute, policy: Self.policy) == "GPU_OOM again when tried after cooling down")
        #expect(failed.circuit(at: after + 3 * Self.minute, policy: Self.policy) != .closed)
        s.recordSuccess(at: after + 2 * Self.minute)
        #expect(s.circuit(at: after + 3 * Self.minute, policy: Self.policy) == .closed && s.failures.isEmpty)
        // A probe that never reported (its airun was killed) stops blocking after one period.
        var stuck = ModelState()
        for t in 0..<3 { _ = stuck.recordFailure(.oomKilled, at: Int64(t) * Self.minute, policy: Self.policy) }
        stuck.startProbe(at: after)
        #expect(stuck.circuit(at: after + 11 * Self.minute, policy: Self.policy) == .halfOpen)
    }

    @Test("an edit that worked: learned from the commands, applied to the next, forgotten for another file or when old")
    func worked() {
        let names = [["-ngl", "--gpu-layers"], ["-c", "--ctx-size"]]
        let learned = ModelState.Worked.learned(original: ["llama", "-m", "m.gguf", "-c", "4096"],
                                                succeeded: ["llama", "-m", "m.gguf", "-c", "4096", "--gpu-layers=16"], names: names)
        #expect(learned == [.init("-ngl", "16")])
        let w = ModelState.Worked(arguments: learned, learntFrom: "4bf9", time: 100, modelSize: 10, modelModified: 20)
        #expect(w.apply(to: ["llama", "-m", "m.gguf"], names: names) == ["llama", "-m", "m.gguf", "-ngl", "16"])
        // Only for the command line it was learnt on: a command that gives -ngl itself keeps it.
        #expect(w.apply(to: ["llama", "-m", "m.gguf", "-ngl", "99"], names: names) == ["llama", "-m", "m.gguf", "-ngl", "99"])
        let fromHuge = ModelState.Worked.learned(original: ["llama", "-m", "m.gguf", "-c", "999999999"],
                                                 succeeded: ["llama", "-m", "m.gguf", "-c", "4096"], names: names)
        #expect(fromHuge == [.init("-c", "4096", original: "999999999")])
        let huge = ModelState.Worked(arguments: fromHuge, learntFrom: "x", time: 1, modelSize: 1, modelModified: 1)
        #expect(huge.apply(to: ["llama", "-m", "m.gguf", "--ctx-size", "999999999"], names: names) == ["llama", "-m", "m.gguf", "--ctx-size", "4096"])
        #expect(huge.apply(to: ["llama", "-m", "m.gguf"], names: names) == ["llama", "-m", "m.gguf"], "learnt for -c 999999999, not for no -c")
        #expect(w.applies(size: 10, modified: 20, at: 200, maxAge: .seconds(1)))
        #expect(!w.applies(size: 11, modified: 20, at: 200, maxAge: .seconds(1)))
        #expect(!w.applies(size: 10, modified: 21, at: 200, maxAge: .seconds(1)))
        #expect(!w.applies(size: 10, modified: 20, at: 2_000_200, maxAge: .seconds(1)))
        #expect(!w.applies(size: 10, modified: 20, at: 50, maxAge: .seconds(1)))  // a clock set back
        #expect(ArgumentValue.find(["-c"], in: ["x", "-c", "1", "-c", "2"]) == "2")
    }

    @Test("the state file round-trips, and whatever else is on disk reads as less, never as a trap", arguments: 0..<40)
    func hostile(seed: Int) {
        var rng = SeededGenerator(state: UInt64(seed) &+ 1)
        var states = ModelStates()
        var s = ModelState()
        _ = s.recordFailure(.gpuOutOfMemory, at: 5, policy: Self.policy)
        s.worked = .init(arguments: [.init("-ngl", "16")], learntFrom: "4bf9", time: 7, modelSize: 1, modelModified: 2)
        states.models["/m/\"quoted\"\n.gguf"] = s
        let bytes = states.encoded()
        #expect(ModelStates(decoding: bytes) == states)
        // Cut, flipped and spliced versions of a real file, and wrong shapes.
        var mutated = bytes
        switch seed % 4 {
        case 0: mutated = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1: for _ in 0..<4 { mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        case 2: mutated = Array(#"{"version":1,"models":[{"model":"x","failures":[{"time":1e400,"code":"GPU_OOM"},{"time":"x"},7],"cooling_until":-9223372036854775808,"worked":{"arguments":[{"name":"rm","value":"-rf"}],"learnt_from":"x","time":1,"model_size":1,"model_modified":1}}]}"#.utf8)
        default: mutated = Array(#"{"version":2,"models":[]}"#.utf8) + Array(repeating: UInt8(ascii: " "), count: seed)
        }
        let read = ModelStates(decoding: mutated)
        #expect(read.models.count <= 1)
        // Whatever was read writes and reads back the same.
        #expect(ModelStates(decoding: read.encoded()) == read)
        if seed % 4 == 2 {
            // An argument that is not an option is never remembered (it would be appended to a command).
            #expect(read.models["x"]?.worked == nil)
        }
    }

    @Test("a model path that masking would change is not remembered (found by the fuzzer: masking twice differed from once)")
    func secretLookingPaths() throws {
        var states = ModelStates()
        var s = ModelState()
        _ = s.recordFailure(.gpuOutOfMemory, at: 5, policy: Self.policy)
        states.models["/m/ops@example.com/x.gguf"] = s
        states.models["/m/plain.gguf"] = s
        let read = ModelStates(decoding: states.encoded())
        #expect(Array(read.models.keys) == ["/m/plain.gguf"])
        #expect(!String(decoding: states.encoded(), as: UTF8.self).contains("example.com"))
        let crash = try #require(FileManager.default.contents(atPath: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/state/masked-twice.json").path))
        let fromCrash = ModelStates(decoding: [UInt8](crash))
        #expect(ModelStates(decoding: fromCrash.encoded()) == fromCrash)
    }

    @Test("a state beyond its bounds is cut to them: 256 models, 64 failures each, 1 MiB")
    func bounds() {
        var states = ModelStates()
        for i in 0..<300 {
            var s = ModelState()
            for t in 0..<80 { _ = s.recordFailure(.nonzeroExit, at: Int64(i * 100 + t), policy: Self.policy) }
            states.models["/m/\(i).gguf"] = s
        }
        #expect(states.models.values.allSatisfy { $0.failures.count == 64 })
        let read = ModelStates(decoding: states.encoded())
        #expect(read.models.count == 256 && read.models["/m/299.gguf"] != nil && read.models["/m/0.gguf"] == nil, "the newest kept")
        #expect(ModelStates(decoding: Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1) + states.encoded()).models.isEmpty)
    }
}

/// The cool-down and the memory in real runs: a stand-in for a model command that fails with
/// llama.cpp's CUDA out-of-memory line, and a profile with `[cooldown]`.
@Suite("cool-downs across runs", .timeLimit(.minutes(3)), .offPool)
struct CooldownRunTests {
    static let oom = "echo 'ggml_backend_cuda_buffer_type_alloc_buffer: allocating 5000.00 MiB on device 0: cudaMalloc failed: out of memory' >&2; exit 1"

    static func profile(_ s: Scratch, failures: Int = 2) -> String {
        s.write("cool.toml", Array("""
            [retry]
            attempts = 2
            initial_delay = "10ms"
            [cooldown]
            failures = \(failures)
            within = "5m"
            period = "1h"
            [fallback]
            models = ["/m/small.gguf"]
            """.utf8))
    }

    @Test("after 2 × GPU_OOM a model cools down: the next run goes straight to its fallback, says why, and health lists it")
    func coolsDown() throws {
        let s = Scratch()
        let profile = Self.profile(s)
        // The big model fails, the fallback (a different -m) succeeds.
        let script = "case \"$*\" in *big.gguf*) \(Self.oom);; esac; echo ran \"$@\""
        let command = ["sh", "-c", script, "stand-in", "-m", "/m/big.gguf"]
        for _ in 0..<2 {
            let r = try airun(["--profile", profile, "--retries", "1", "--"] + command, scratch: s)
            #expect(r.exitCode == 1 && r.records("error").first?["error_code"] as? String == "GPU_OOM", "\(r.stderr)")
        }
        let cooled = try airun(["--profile", profile, "--"] + command, scratch: s)
        #expect(cooled.exitCode == 0 && cooled.stdoutText == "ran -m /m/small.gguf\n", "\(cooled.stderr)")
        let first = try #require(cooled.records("attempt.end").suffix(2).first)
        #expect(first["cooldown"] as? Bool == true && first["pid"] is NSNull)
        let error = try #require(cooled.records("error").last)
        #expect(error["classified_by"] as? String == "cooldown" && (error["evidence"] as? String ?? "").contains("2 × GPU_OOM in 5m"))
        #expect(cooled.stderr.contains("attempt 1 not started: the model is cooling down until"), "\(cooled.stderr)")
        #expect((cooled.records("retry").last?["delay_ms"] as? Double) == 0)
        let health = try airun(["health"], scratch: s)
        #expect(health.stdoutText.contains("/m/big.gguf\n  cooling down until") && health.stdoutText.contains("2 × GPU_OOM in 5m"), "\(health.stdoutText)")
        // --no-cooldown loads it anyway; with no fallback left the run warns and loads it.
        let forced = try airun(["--profile", profile, "--no-cooldown", "--retries", "1", "--"] + command, scratch: s)
        #expect(forced.records("attempt.start").last?["cooldown"] == nil && forced.exitCode == 1)
        let alone = try airun(["--profile", profile, "--retries", "1", "--"] + command, scratch: s)
        #expect(alone.exitCode == 1 && alone.stderr.contains("big is cooling down until") && alone.stderr.contains("no fallback model is left"), "\(alone.stderr)")
    }

    @Test("32 concurrent runs failing on one model: every failure counted, none lost to a race (flock)")
    func concurrent() throws {
        let s = Scratch()
        let profile = Self.profile(s, failures: 1000)
        let logs = s.file("shared-logs")
        let runs = try (0..<32).map { n in
            try AirunProcess.start(["-q", "--log-dir", s.file("outer-\(n)"), "--", Airun.path, "-q", "--log-dir", logs, "--profile", profile,
                                    "--retries", "1", "--", "sh", "-c", Self.oom, "stand-in", "-m", "/m/big.gguf"])
        }
        for r in runs { #expect(try r.wait().exitCode == 1) }
        let json = try airun(["health", "--json", "--log-dir", logs], scratch: s)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["model"] as? String == "/m/big.gguf" })
        #expect((model["failures"] as? [Any])?.count == 32, "\(model)")
    }
}
