@testable import AirunCore
import Foundation
import Testing

@Suite("retry planning", .offPool)
struct RetryPlannerTests {
    var rng = SeededGenerator(state: 42)

    func policy(_ attempts: Int, initial: Double = 1, max: Double = 30, jitter: Double = 0, backoff: RetryPolicy.Backoff = .exponential) -> RetryPolicy {
        var p = RetryPolicy()
        p.attempts = attempts
        p.initialDelay = .seconds(initial)
        p.maxDelay = .seconds(max)
        p.jitter = jitter
        p.backoff = backoff
        return p
    }

    func ending(_ code: ErrorCode, exit: Int32? = 1, signal: Signal? = nil) -> AttemptEnding {
        AttemptEnding(code: code, retryable: code.retryableByDefault, exitCode: exit, signal: signal)
    }

    @Test("BAD_ARGUMENTS is never retried, whatever the profile says")
    mutating func badArguments() {
        var p = policy(5)
        p.retryOn = ["BAD_ARGUMENTS"]
        var planner = RetryPlanner(policy: p, fallback: FallbackPlan())
        let d = planner.decide(after: 1, ending: ending(.badArguments), command: ["x"], elapsed: .seconds(0), using: &rng)
        #expect(d == .stop(reason: "BAD_ARGUMENTS is never retried"))
    }

    @Test("never_retry_on stops the same command, but a fallback for the code still runs")
    mutating func neverRetryVersusFallback() {
        var p = policy(3)
        p.neverRetryOn = ["MODEL_UNSUPPORTED"]
        var fallback = FallbackPlan()
        fallback.models = ["/m/small.gguf"]
        var planner = RetryPlanner(policy: p, fallback: fallback)
        let d = planner.decide(after: 1, ending: ending(.modelUnsupported), command: ["llama", "-m", "/m/v4.gguf"], elapsed: .seconds(0), using: &rng)
        guard case .retry(_, let next, let change, _) = d else { Issue.record("\(d)"); return }
        #expect(next == ["llama", "-m", "/m/small.gguf"] && change == "fallback model small.gguf")
        // The models are used up: the same command again is what never_retry_on forbids.
        let again = planner.decide(after: 2, ending: ending(.modelUnsupported), command: next, elapsed: .seconds(0), using: &rng)
        #expect(again == .stop(reason: "MODEL_UNSUPPORTED matches never_retry_on MODEL_UNSUPPORTED"))
    }

    @Test("the plan by code names the next attempt for every error code, without consuming the planner")
    func planByCode() {
        var p = policy(2)
        p.neverRetryOn = ["PROMPT_TOO_LONG", "TIMEOUT"]
        var fallback = FallbackPlan()
        fallback.models = ["/m/small.gguf"]
        fallback.edits = [ArgumentEdit(on: "GPU_OOM", argument: "-ngl", scale: 0.5)]
        let planner = RetryPlanner(policy: p, fallback: fallback)
        let plan = Dictionary(uniqueKeysWithValues: planner.planByCode(command: ["llama", "-m", "big.gguf", "-ngl", "80"]).map { ($0.code, $0.next) })
        #expect(plan.count == ErrorCode.allCases.count)
        #expect(plan[.modelNotFound] == "fallback model small.gguf after 1s")
        #expect(plan[.gpuOutOfMemory] == "fallback model small.gguf, -ngl 80 → 40 after 1s")
        // A too-long prompt tries a model with more context (issue 22); never_retry_on is about the same command.
        #expect(plan[.promptTooLong] == "fallback model small.gguf after 1s")
        #expect(plan[.timeout] == "nothing: TIMEOUT matches never_retry_on TIMEOUT")
        #expect(plan[.nonzeroExit] == "the same command after 1s")
        #expect(plan[.pythonException] == "nothing: PYTHON_EXCEPTION is not retryable")
        #expect(plan[.interrupted] == "nothing: INTERRUPTED is never retried")
    }

    @Test("a generic failure uses every attempt, then stops")
    mutating func generic() {
        var planner = RetryPlanner(policy: policy(3), fallback: FallbackPlan())
        for attempt in 1...2 {
            guard case .retry(_, let command, let change, let reason) =
                    planner.decide(after: attempt, ending: ending(.nonzeroExit), command: ["x"], elapsed: .seconds(0), using: &rng)
            else { Issue.record("attempt \(attempt) should be retried"); return }
            #expect(command == ["x"] && change == "the same command" && reason == "NONZERO_EXIT")
        }
        #expect(planner.decide(after: 3, ending: ending(.nonzeroExit), command: ["x"], elapsed: .seconds(0), using: &rng)
                == .stop(reason: "all 3 attempts used"))
    }

    @Test("exponential backoff doubles from the initial delay up to the cap; fixed stays")
    mutating func backoff() {
        let planner = RetryPlanner(policy: policy(10, initial: 1, max: 5), fallback: FallbackPlan())
        let delays = (2...6).map { planner.delay(before: $0, using: &rng).nanoseconds }
        #expect(delays == [1, 2, 4, 5, 5].map { Int64($0) * 1_000_000_000 })
        let fixed = RetryPlanner(policy: policy(10, initial: 2, backoff: .fixed), fallback: FallbackPlan())
        #expect((2...5).allSatisfy { fixed.delay(before: $0, using: &rng).nanoseconds == 2_000_000_000 })
    }

    @Test("jitter stays within ± the fraction, and does vary")
    mutating func jitter() {
        let planner = RetryPlanner(policy: policy(10, initial: 10, max: 60, jitter: 0.2, backoff: .fixed), fallback: FallbackPlan())
        let delays = (0..<500).map { _ in Double(planner.delay(before: 2, using: &rng).nanoseconds) / 1e9 }
        #expect(delays.allSatisfy { $0 >= 8 && $0 <= 12 })
        #expect(Set(delays).count > 400)
        #expect(delays.min()! < 8.2 && delays.max()! > 11.8)
    }

    @Test("max_total_time stops a retry that would start too late")
    mutating func totalTime() {
        var p = policy(5, initial: 10)
        p.maxTotalTime = .seconds(60)
        var planner = RetryPlanner(policy: p, fallback: FallbackPlan())
        #expect(planner.decide(after: 1, ending: ending(.timeout), command: ["x"], elapsed: .seconds(55), using: &rng)
                == .stop(reason: "max_total_time 1m would be exceeded"))
    }

    @Test("retry_on and never_retry_on by code, exit status and signal")
    mutating func conditions() {
        var p = policy(3, initial: 0)
        p.retryOn = ["exit:75", "signal:KILL"]
        p.neverRetryOn = ["HOST_OOM"]
        var planner = RetryPlanner(policy: p, fallback: FallbackPlan())
        if case .retry = planner.decide(after: 1, ending: ending(.pythonException, exit: 75), command: ["x"], elapsed: .seconds(0), using: &rng) {} else { Issue.record("exit:75") }
        if case .retry = planner.decide(after: 1, ending: ending(.killedBySignal, exit: nil, signal: "SIGKILL"), command: ["x"], elapsed: .seconds(0), using: &rng) {} else { Issue.record("signal:KILL") }
        if case .stop = planner.decide(after: 1, ending: ending(.nonzeroExit, exit: 1), command: ["x"], elapsed: .seconds(0), using: &rng) {} else { Issue.record("retry_on is exclusive") }
        if case .stop = planner.decide(after: 1, ending: ending(.hostOutOfMemory, exit: 75), command: ["x"], elapsed: .seconds(0), using: &rng) {} else { Issue.record("never wins") }
    }

    @Test("fallback models replace -m in turn, even for codes not retryable by themselves")
    mutating func fallbackModels() {
        var f = FallbackPlan()
        f.models = ["/m/small.gguf", "/m/tiny.gguf"]
        var planner = RetryPlanner(policy: policy(3, initial: 0), fallback: f)
        let cmd = ["llama-completion", "-m", "/m/big.gguf", "-p", "hi"]
        guard case .retry(_, let second, let change, _) = planner.decide(after: 1, ending: ending(.modelNotFound), command: cmd, elapsed: .seconds(0), using: &rng)
        else { Issue.record("no fallback"); return }
        #expect(second == ["llama-completion", "-m", "/m/small.gguf", "-p", "hi"])
        #expect(change == "fallback model small.gguf")
        guard case .retry(_, let third, _, _) = planner.decide(after: 2, ending: ending(.gpuOutOfMemory), command: second, elapsed: .seconds(0), using: &rng)
        else { Issue.record("no second fallback"); return }
        #expect(third[2] == "/m/tiny.gguf")
        var planner2 = RetryPlanner(policy: policy(3, initial: 0), fallback: f)
        let eq = ["r.py", "--model=/m/big.gguf"]
        if case .retry(_, let next, _, _) = planner2.decide(after: 1, ending: ending(.modelNotFound), command: eq, elapsed: .seconds(0), using: &rng) {
            #expect(next == ["r.py", "--model=/m/small.gguf"])
        } else { Issue.record("--model= form") }
    }

    @Test("the alternative command runs once the fallback models are used up")
    mutating func alternative() {
        var f = FallbackPlan()
        f.models = ["/m/small.gguf"]
        f.command = ["llama-cli", "-m", "/m/tiny.gguf", "-st"]
        var planner = RetryPlanner(policy: policy(4, initial: 0), fallback: f)
        let cmd = ["llama-completion", "-m", "/m/big.gguf"]
        guard case .retry(_, let second, _, _) = planner.decide(after: 1, ending: ending(.gpuOutOfMemory), command: cmd, elapsed: .seconds(0), using: &rng)
        else { Issue.record("no fallback model"); return }
        #expect(second == ["llama-completion", "-m", "/m/small.gguf"])
        guard case .retry(_, let third, let change, _) = planner.decide(after: 2, ending: ending(.gpuOutOfMemory), command: second, elapsed: .seconds(0), using: &rng)
        else { Issue.record("no alternative command"); return }
        #expect(third == f.command! && change == "alternative command llama-cli")
        // Used once: a further GPU_OOM is retried (retryable) with the same command.
        guard case .retry(_, let fourth, let same, _) = planner.decide(after: 3, ending: ending(.gpuOutOfMemory), command: third, elapsed: .seconds(0), using: &rng)
        else { Issue.record("GPU_OOM is retryable"); return }
        #expect(fourth == third && same == "the same command")
    }

    @Test("argument edits: scale -ngl, halve -c with a floor, set a missing one")
    mutating func edits() {
        var f = FallbackPlan()
        f.edits = [ArgumentEdit(on: "GPU_OOM", argument: "-ngl", aliases: ["--n-gpu-layers"], scale: 0.5),
                   ArgumentEdit(on: "CONTEXT_TOO_LARGE", argument: "-c", scale: 0.5, minimum: 512),
                   ArgumentEdit(on: "HOST_OOM", argument: "--mlock-off", set: "1")]
        var planner = RetryPlanner(policy: policy(9, initial: 0), fallback: f)
        guard case .retry(_, let a, let change, _) = planner.decide(after: 1, ending: ending(.gpuOutOfMemory), command: ["l", "--n-gpu-layers", "99"], elapsed: .seconds(0), using: &rng)
        else { Issue.record("no edit"); return }
        #expect(a == ["l", "--n-gpu-layers", "49"] && change == "--n-gpu-layers 99 → 49")
        guard case .retry(_, let b, _, _) = planner.decide(after: 2, ending: ending(.contextTooLarge), command: ["l", "-c", "800"], elapsed: .seconds(0), using: &rng)
        else { Issue.record("no -c edit"); return }
        #expect(b == ["l", "-c", "512"])
        guard case .retry(_, let c, _, _) = planner.decide(after: 3, ending: ending(.hostOutOfMemory), command: ["l"], elapsed: .seconds(0), using: &rng)
        else { Issue.record("no set"); return }
        #expect(c == ["l", "--mlock-off", "1"])
        // CONTEXT_TOO_LARGE is not retryable by itself: with -c already at the floor nothing changes, so stop.
        #expect(planner.decide(after: 4, ending: ending(.contextTooLarge), command: ["l", "-c", "512"], elapsed: .seconds(0), using: &rng)
                == .stop(reason: "CONTEXT_TOO_LARGE is not retryable"))
    }
}

@Suite("profiles", .offPool)
struct ProfileTests {
    @Test("every shipped profile decodes")
    func shipped() throws {
        for text in TOMLTests.shippedProfiles() {
            _ = try Profile.decode(text, name: "x", file: "shipped.toml")
        }
        #expect(TOMLTests.shippedProfiles().count >= 4)
    }

    @Test("errors name file, line and column", arguments: [
        ("[retry]\nattempts = \"three\"\n", "p.toml:2:1: retry.attempts must be an integer, not a string \"three\""),
        ("[retry]\natempts = 3\n", "p.toml:2:1: unknown key 'retry.atempts'"),
        ("[retry]\nbackoff = \"linear\"\n", "p.toml:2:1: retry.backoff 'linear' is not known (fixed or exponential)"),
        ("[retry]\nretry_on = [\"GPU_OOOM\"]\n", "p.toml:2:1: 'GPU_OOOM' is not an error code, exit:N or signal:NAME"),
        ("[timeout]\nattempt = \"soon\"\n", "p.toml:2:1: timeout.attempt 'soon' is not a duration"),
        ("colour = 1\n", "p.toml:1:1: unknown key 'colour'"),
        ("version = 2\n", "p.toml:1:1: unsupported profile version 2"),
        ("[[fallback.edit]]\non = \"GPU_OOM\"\nargument = \"-ngl\"\n", "p.toml:1:1: fallback.edit[1] needs exactly one of set and scale"),
        ("[retry\n", "p.toml:1:7: expected ']' to close the table header"),
    ])
    func errors(text: String, message: String) {
        do {
            _ = try Profile.decode(text, name: "p", file: "p.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test("a full profile's values")
    func values() throws {
        let p = try Profile.decode("""
            [retry]
            attempts = 4
            backoff = "fixed"
            initial_delay = "250ms"
            jitter = 0
            retry_on = ["GPU_OOM", "exit:75"]
            [timeout]
            attempt = "90s"
            [fallback]
            models = ["/m/a.gguf"]
            [[fallback.edit]]
            on = "GPU_OOM"
            argument = "-ngl"
            set = "0"
            [[classify]]
            name = "site.nfs"
            code = "KILLED_BY_SIGNAL"
            phrases = ["stale file handle"]
            [redaction]
            allow = ["AKIAIOSFODNN7EXAMPLE"]
            personal_data = false
            """, name: "t", file: "t.toml")
        #expect(p.retry.attempts == 4 && p.retry.backoff == .fixed && p.retry.initialDelay.nanoseconds == 250_000_000)
        #expect(p.retry.retryOn == ["GPU_OOM", "exit:75"] && p.timeout?.nanoseconds == 90_000_000_000)
        #expect(p.fallback.models == ["/m/a.gguf"] && p.fallback.edits.first?.set == "0")
        #expect(p.rules.first?.name == "site.nfs" && p.maskPersonalData == false)
    }
}

/// Edits of arguments the command leaves to llama.cpp (`when_absent`): recent builds choose `-ngl`
/// and `-c` themselves (`--fit`), so "halve -ngl" must still change something when none was given.
@Suite("edits of arguments llama.cpp chooses", .offPool)
struct ImpliedEditTests {
    static func shapeHeader(blocks: UInt32 = 32, context: UInt32 = 8192) -> [UInt8] {
        typealias G = PromptCheckTests
        let kv: [[UInt8]] = [
            G.string("general.architecture") + G.le(UInt32(8)) + G.string("qwen3"),
            G.string("general.name") + G.le(UInt32(8)) + G.string("x"),
            G.string("qwen3.block_count") + G.le(UInt32(4)) + G.le(blocks),
            G.string("qwen3.context_length") + G.le(UInt32(4)) + G.le(context),
        ]
        let head: [UInt8] = Array("GGUF".utf8) + G.le(UInt32(3)) + G.le(UInt64(1)) + G.le(UInt64(kv.count))
        return head + kv.flatMap { $0 }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let command: [String]
        let implied: ArgumentEdit.Implied
        let change: String?
        let after: [String]
        var testDescription: String { command.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(command: ["llama", "-m", "m.gguf"], implied: .layers, change: "-ngl 16 (the model's 33 × 0.5)", after: ["llama", "-m", "m.gguf", "-ngl", "16"]),
        Case(command: ["llama", "-m", "m.gguf", "-ngl", "auto"], implied: .layers, change: "-ngl auto → 16", after: ["llama", "-m", "m.gguf", "-ngl", "16"]),
        // 99 layers of a 33-layer model is all of them: half of what is really offloaded.
        Case(command: ["llama", "-m", "m.gguf", "-ngl", "99"], implied: .layers, change: "-ngl 99 → 16", after: ["llama", "-m", "m.gguf", "-ngl", "16"]),
        Case(command: ["llama", "-m", "m.gguf", "-ngl", "20"], implied: .layers, change: "-ngl 20 → 10", after: ["llama", "-m", "m.gguf", "-ngl", "10"]),
        // More context than the model was trained on: its own context is the smaller one to try.
        Case(command: ["llama", "-m", "m.gguf", "-c", "999999999"], implied: .context, change: "-c 999999999 → 8192", after: ["llama", "-m", "m.gguf", "-c", "8192"]),
        Case(command: ["llama", "-m", "m.gguf", "-ngl", "0"], implied: .layers, change: nil, after: ["llama", "-m", "m.gguf", "-ngl", "0"]),
        Case(command: ["llama", "-m", "m.gguf", "-c", "0"], implied: .context, change: "-c 0 → 4096", after: ["llama", "-m", "m.gguf", "-c", "4096"]),
        Case(command: ["llama", "-m", "m.gguf"], implied: .context, change: "-c 4096 (the model's 8192 × 0.5)", after: ["llama", "-m", "m.gguf", "-c", "4096"]),
        Case(command: ["llama", "-m", "m.gguf", "--ctx-size=600"], implied: .context, change: "--ctx-size 600 → 512", after: ["llama", "-m", "m.gguf", "--ctx-size=512"]),
        Case(command: ["llama", "-m", "m.gguf", "-c", "400"], implied: .context, change: nil, after: ["llama", "-m", "m.gguf", "-c", "400"]),
    ]

    @Test("the header's layers and context; a header cut short or without an architecture gives nothing")
    func shape() {
        let header = Self.shapeHeader()
        #expect(ModelShape.read(header: header) == ModelShape(blockCount: 32, contextLength: 8192))
        #expect(ModelShape.read(header: header).offloadableLayers == 33)
        #expect(ModelShape.read(header: Array(header.prefix(70))) == ModelShape())
        #expect(ModelShape.read(header: Array("GGUF".utf8)) == ModelShape())
        #expect(ModelShape.read(header: []) == ModelShape())
    }

    @Test("absent, auto or 0: the model's own value scaled; a number as before; never an increase", arguments: cases)
    func implied(_ c: Case) {
        let (command, implied, change, after) = (c.command, c.implied, c.change, c.after)
        let edit = implied == .layers
            ? ArgumentEdit(on: "GPU_OOM", argument: "-ngl", aliases: ["--gpu-layers"], scale: 0.5, implied: .layers)
            : ArgumentEdit(on: "CONTEXT_TOO_LARGE", argument: "-c", aliases: ["--ctx-size"], scale: 0.5, minimum: 512, implied: .context)
        var args = command
        #expect(RetryPlanner.apply(edit, to: &args, shape: ModelShape.read(header: Self.shapeHeader())) == change)
        #expect(args == after)
        // Without the model's header there is nothing to scale an absent argument from.
        var unknown = command
        if !command.contains(where: { $0.hasPrefix(edit.argument) || edit.aliases.contains(where: $0.hasPrefix) }) {
            #expect(RetryPlanner.apply(edit, to: &unknown, shape: nil) == nil && unknown == command)
        }
    }

    @Test("when_absent is read from a profile and needs scale")
    func profileKey() throws {
        let p = try Profile.decode("[[fallback.edit]]\non = \"GPU_OOM\"\nargument = \"-ngl\"\nscale = 0.5\nwhen_absent = \"layers\"\n", name: "x", file: "x.toml")
        #expect(p.fallback.edits.first?.implied == .layers)
        #expect(throws: ProfileError.self) {
            try Profile.decode("[[fallback.edit]]\non = \"GPU_OOM\"\nargument = \"-ngl\"\nset = \"1\"\nwhen_absent = \"layers\"\n", name: "x", file: "x.toml")
        }
        #expect(throws: ProfileError.self) {
            try Profile.decode("[[fallback.edit]]\non = \"GPU_OOM\"\nargument = \"-ngl\"\nscale = 0.5\nwhen_absent = \"all\"\n", name: "x", file: "x.toml")
        }
    }
}
