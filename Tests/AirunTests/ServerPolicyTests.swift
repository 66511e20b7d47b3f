@testable import AirunCore
import Testing

/// The pure parts of servers under airun (docs/servers.md): the restart planner, llama-server's
/// metrics, the address in a command line, and the profile tables, hostile input included.
@Suite("server policy", .offPool)
struct ServerPolicyTests {
    private let s: Int64 = 1_000_000_000
    private func killed() -> AttemptEnding { AttemptEnding(code: .killedBySignal, retryable: true, exitCode: nil, signal: .kill) }
    private func exited(_ code: Int32, _ error: ErrorCode? = .nonzeroExit) -> AttemptEnding {
        AttemptEnding(code: code == 0 ? nil : error, retryable: true, exitCode: code, signal: nil)
    }
    private func delay(_ d: RestartDecision) -> Int64? { if case .restart(let t, _) = d { t.nanoseconds } else { nil } }

    @Test("backoff doubles up to the maximum and starts again after a stable start")
    func backoff() {
        var p = RestartPolicy()
        p.mode = .onFailure
        p.initialDelay = .seconds(1)
        p.maxDelay = .seconds(5)
        p.stableAfter = .seconds(60)
        p.startLimit = 100
        var planner = RestartPlanner(policy: p)
        var delays: [Int64] = []
        var now: Int64 = 0
        for _ in 0..<5 {
            planner.started(at: now)
            now += 2 * s
            delays.append(delay(planner.decide(after: killed(), failed: true, uptime: TimeSpan(nanoseconds: 2 * s), now: now)) ?? -1)
        }
        #expect(delays == [1, 2, 4, 5, 5].map { $0 * s })
        planner.started(at: now)
        now += 61 * s
        #expect(delay(planner.decide(after: killed(), failed: true, uptime: .seconds(61), now: now)) == 1 * s)
    }

    @Test("what stops a server: a clean exit (on-failure), stop codes, failures a restart cannot mend, a stop request")
    func stops() {
        var p = RestartPolicy()
        p.mode = .onFailure
        p.stopExitCodes = [3]
        var planner = RestartPlanner(policy: p)
        planner.started(at: 0)
        if case .stop = planner.decide(after: exited(0), failed: false, uptime: .seconds(1), now: s) {} else { Issue.record("exit 0 restarted") }
        if case .stop(let why) = planner.decide(after: exited(3), failed: true, uptime: .seconds(1), now: s) {
            #expect(why.contains("stop_exit_codes"))
        } else { Issue.record("stop code restarted") }
        if case .stop(let why) = planner.decide(after: exited(1, .modelNotFound), failed: true, uptime: .seconds(1), now: s) {
            #expect(why.contains("MODEL_NOT_FOUND"))
        } else { Issue.record("MODEL_NOT_FOUND restarted") }
        if case .stop = planner.decide(after: killed(), failed: true, uptime: .seconds(1), now: s, stopRequested: true) {} else {
            Issue.record("a stop request restarted")
        }
        p.mode = .always
        var always = RestartPlanner(policy: p)
        always.started(at: 0)
        #expect(delay(always.decide(after: exited(0), failed: false, uptime: .seconds(1), now: s)) != nil)
        p.mode = .no
        var off = RestartPlanner(policy: p)
        if case .stop = off.decide(after: killed(), failed: true, uptime: .seconds(1), now: s) {} else { Issue.record("restart=no restarted") }
    }

    @Test("the start limit counts starts within the window; a reload's start does not count")
    func startLimit() {
        var p = RestartPolicy()
        p.mode = .always
        p.startLimit = 3
        p.startWindow = .seconds(10)
        var planner = RestartPlanner(policy: p)
        planner.started(at: 0)
        planner.started(at: 1 * s)
        #expect(delay(planner.decide(after: killed(), failed: true, uptime: .seconds(1), now: 2 * s)) != nil)
        planner.started(at: 3 * s, counts: false)  // a reload
        #expect(delay(planner.decide(after: killed(), failed: true, uptime: .seconds(1), now: 4 * s)) != nil)
        planner.started(at: 5 * s)
        if case .giveUp(let why) = planner.decide(after: killed(), failed: true, uptime: .seconds(1), now: 6 * s) {
            #expect(why.contains("3 starts within 10s"))
        } else { Issue.record("no give-up at the limit") }
        // Long after: the old starts left the window.
        var later = RestartPlanner(policy: p)
        for t in [0, 1, 2] { later.started(at: Int64(t) * s) }
        #expect(delay(later.decide(after: killed(), failed: true, uptime: .seconds(1), now: 100 * s)) != nil)
        #expect(delay(later.decide(after: killed(), failed: true, uptime: .seconds(1), now: 100 * s, reload: true)) == 0)
    }

    @Test("the redactor's table of secret first bytes holds exactly what was inserted, for every byte value")
    func byteSet() {
        let random = TestRandom()
        var rng = random
        for _ in 0..<50 {
            var set = ByteSet()
            var reference = Set<UInt8>()
            for _ in 0..<Int.random(in: 0...64, using: &rng) {
                let b = UInt8.random(in: 0...255, using: &rng)
                set.insert(b)
                reference.insert(b)
            }
            for b in UInt8.min...UInt8.max { #expect(set.contains(b) == reference.contains(b), "\(b) \(random)") }
        }
        var r = Redactor()
        r.addSecret("\u{7f}abcdef", kind: "X")
        r.addSecret("zzzz-secret", kind: "Y")
        #expect(r.redact("a \u{7f}abcdef and zzzz-secret") == "a ***X_REDACTED*** and ***Y_REDACTED***")
    }

    @Test("llama-server's /metrics: the figures kept, everything else skipped")
    func serverMetrics() {
        let text = """
            # HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
            # TYPE llamacpp:prompt_tokens_total counter
            llamacpp:prompt_tokens_total 6886
            llamacpp:prompt_seconds_total 2903.63
            llamacpp:tokens_predicted_total 3469
            llamacpp:tokens_predicted_seconds_total 3544.27
            llamacpp:n_decode_total{slot="0",odd="a}b\\"c"} 12 1700000000000
            llamacpp:requests_processing 1\r
            llamacpp:requests_deferred NaN
            other_metric 5
            """
        let m = ServerMetrics(exposition: Array(text.utf8))
        #expect(m.promptTokens == 6886 && m.promptSeconds == 2903.63 && m.predictedTokens == 3469 && m.predictedSeconds == 3544.27)
        #expect(m.decodeCalls == 12 && m.requestsProcessing == 1 && m.requestsDeferred == nil)
        let hostile: [String] = ["", "{", "llamacpp:prompt_tokens_total", "llamacpp:prompt_tokens_total{", "llamacpp:prompt_tokens_total{\"} 5",
                                 "llamacpp:prompt_tokens_total +Inf", "llamacpp:prompt_tokens_total 1e999", String(repeating: "a", count: 100_000) + " 1",
                                 "llamacpp:prompt_tokens_total " + String(repeating: "9", count: 500), "\u{0}\u{FF} 1", "9abc 1"]
        for h in hostile { #expect(ServerMetrics(exposition: Array(h.utf8)).promptTokens == nil, "\(h.prefix(40))") }
        #expect(ServerMetrics(exposition: [0xFF, 0xFE, 0x0A, 0x20]).isEmpty)
    }

    @Test("the server's counters become increments that survive its restarts")
    func counterDeltas() {
        var d = ServerCounterDeltas()
        func m(_ v: Double) -> ServerMetrics { var x = ServerMetrics(); x.predictedTokens = v; return x }
        #expect(d.increments(m(10)).predictedTokens == 10)
        #expect(d.increments(m(15)).predictedTokens == 5)
        #expect(d.increments(m(4)).predictedTokens == 4)  // it started again from zero
        #expect(d.increments(m(-5)).predictedTokens == nil, "a negative counter (the fuzz target found it) is no increment")
        d.restarted()
        #expect(d.increments(m(7)).predictedTokens == 7)
    }

    @Test("the server's address from the command line and llama.cpp's variables")
    func address() {
        #expect(ServerAddress(command: ["llama-server", "-m", "x"], environment: [:]) == ServerAddress(host: "127.0.0.1", port: 8080))
        #expect(ServerAddress(command: ["llama-server", "--port", "9001", "--host", "0.0.0.0"], environment: [:]).fill("http://{host}:{port}/health")
                == "http://127.0.0.1:9001/health")
        #expect(ServerAddress(command: ["s", "--port=9002", "--host=::"], environment: [:]).fill("http://{host}:{port}/") == "http://[::1]:9002/")
        #expect(ServerAddress(command: ["s"], environment: ["LLAMA_ARG_PORT": "7000", "LLAMA_ARG_HOST": "10.0.0.2"]) == ServerAddress(host: "10.0.0.2", port: 7000))
        // Odd values are passed over, not trusted: ports out of range, a Unix socket, control characters.
        for bad in [["--port", "0"], ["--port", "70000"], ["--port", "-1"], ["--port", "99999999999999999999"], ["--host", "/tmp/s.sock"],
                    ["--host", "a\nb"], ["--port"], ["--host"]] {
            #expect(ServerAddress(command: ["s"] + bad, environment: [:]) == ServerAddress(), "\(bad)")
        }
    }

    @Test("[restart], [ready] and [heartbeat]: read, and every mistake named with its line")
    func profileTables() throws {
        let good = """
            [restart]
            policy = "always"
            initial_delay = "500ms"
            max_delay = "30s"
            stable_after = "2m"
            stop_exit_codes = [0, 3]
            start_limit = 4
            start_window = "1m"
            max_memory = "2G"
            [ready]
            line = "server is listening"
            timeout = "90s"
            [heartbeat]
            interval = "15s"
            scrape_metrics = false
            """
        let p = try Profile.decode(good, name: "t", file: "t.toml")
        #expect(p.restart.mode == .always && p.restart.initialDelay == .seconds(0.5) && p.restart.maxDelay == .seconds(30))
        #expect(p.restart.stopExitCodes == [0, 3] && p.restart.startLimit == 4 && p.restart.startWindow == .seconds(60))
        #expect(p.maxMemoryBytes == 2 << 30 && p.ready.line == "server is listening" && p.ready.timeout == .seconds(90))
        #expect(p.heartbeat == .seconds(15) && p.scrapeMetrics == false)
        let bad: [(String, String)] = [
            ("[restart]\npolicy = \"sometimes\"", "t.toml:2:"),
            ("[restart]\ninitial_delay = \"2m\"\nmax_delay = \"1m\"", "t.toml:3:"),
            ("[restart]\nstop_exit_codes = [300]", "t.toml:2:"),
            ("[restart]\nstart_limit = 0", "t.toml:2:"),
            ("[restart]\nstart_window = \"0s\"", "t.toml:2:"),
            ("[restart]\nmax_memory = \"lots\"", "t.toml:2:"),
            ("[restart]\nrestart_sec = 5", "t.toml:2:"),
            ("[ready]\nurl = \"https://localhost/health\"", "t.toml:2:"),
            ("[ready]\nurl = \"localhost:8080\"", "t.toml:2:"),
            ("[ready]\nline = \"(a\"", "t.toml:2:"),
            ("[ready]\ntimeout = \"0s\"", "t.toml:2:"),
            ("[heartbeat]\ninterval = \"10ms\"", "t.toml:2:"),
        ]
        for (text, position) in bad {
            #expect(throws: ProfileError.self, "\(text)") { try Profile.decode(text, name: "t", file: "t.toml") }
            do { _ = try Profile.decode(text, name: "t", file: "t.toml") } catch {
                #expect(error.description.hasPrefix(position), "\(error.description)")
                #expect(!error.description.contains("\n"))
            }
        }
    }
}
