@testable import AirunCLI
@testable import AirunCore
import AirunSystem
import Foundation
import Testing

@Suite("trace ids", .offPool)
struct TraceIDTests {
    @Test("traceparent parsing per W3C", arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", nil),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", nil),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", nil),  // future version, extra field
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceParent.Problem.forbiddenVersion),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", .malformed),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", .invalidTraceID),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", .invalidTraceID),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", .invalidParentID),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", .invalidParentID),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", .invalidFlags),
        ("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", .malformed),
        ("", .malformed),
    ])
    func parse(header: String, problem: TraceParent.Problem?) {
        switch TraceParent.parse(header) {
        case .success(let tp):
            #expect(problem == nil)
            #expect(tp.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        case .failure(let p):
            #expect(p == problem)
        }
    }

    @Test("generated ids are lowercase hex of the right length and differ")
    func generated() {
        var rng = TestRandom()
        let ids = (0..<100).map { _ in TraceID.random(using: &rng).hex }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { $0.wholeMatch(of: /[0-9a-f]{32}/) != nil })
        #expect(SpanID.random(using: &rng).hex.wholeMatch(of: /[0-9a-f]{16}/) != nil)
    }

    @Test("exported traceparent keeps the sampled flag and uses version 00")
    func header() {
        let tp = TraceParent(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, parentID: SpanID("00f067aa0ba902b7")!, flags: 0)
        #expect(tp.header == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
    }

    @Test("resolution order: flag, TRACEPARENT, TRACE_ID, AIRUN_TRACE_ID, generated")
    func order() throws {
        var rng = TestRandom()
        let a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", c = "cccccccccccccccccccccccccccccccc"
        let env = ["TRACEPARENT": "00-\(a)-00f067aa0ba902b7-01", "TRACE_ID": b, "AIRUN_TRACE_ID": c]
        #expect(try TraceResolution.resolve(flag: "dddddddddddddddddddddddddddddddd", environment: env, rng: &rng).source == "flag")
        #expect(try TraceResolution.resolve(flag: nil, environment: env, rng: &rng).traceID.hex == a)
        var e2 = env; e2["TRACEPARENT"] = "garbage"
        let r2 = try TraceResolution.resolve(flag: nil, environment: e2, rng: &rng)
        #expect(r2.traceID.hex == b && r2.warnings.count == 1)
        e2["TRACE_ID"] = nil
        #expect(try TraceResolution.resolve(flag: nil, environment: e2, rng: &rng).traceID.hex == c)
        #expect(try TraceResolution.resolve(flag: nil, environment: [:], rng: &rng).source == "generated")
        #expect(throws: TraceFlagError.self) { try TraceResolution.resolve(flag: "", environment: [:], rng: &rng) }
        #expect(throws: TraceFlagError.self) { try TraceResolution.resolve(flag: "a\tb", environment: [:], rng: &rng) }
        let own = try TraceResolution.resolve(flag: "session-abc", environment: [:], rng: &rng)
        #expect(own.callerID == "session-abc" && own.exportedTraceID == "session-abc")
        #expect(own.traceID == TraceID(callerID: "session-abc"))
    }

    @Test("a caller's id becomes a trace id: hex as is, a UUID's bits, else a stable hash")
    func callerIDs() {
        #expect(TraceID(callerID: "0af7651916cd43dd8448eb211c80319c")?.hex == "0af7651916cd43dd8448eb211c80319c")
        #expect(TraceID(callerID: "0af76519-16cd-43dd-8448-eb211c80319c")?.hex == "0af7651916cd43dd8448eb211c80319c")
        // FNV-1a 128 of "session-abc", computed independently in Python:
        // h=0x6c62272e07bb014262b821756295c58d; for b in b"session-abc": h=((h^b)*0x1000000000000000000013B)%2**128
        #expect(TraceID(callerID: "session-abc")?.hex == "464e4e8087d4c1d4d0629f7454ab81c2")
        #expect(TraceID(callerID: "session-abc") != TraceID(callerID: "session-abd"))
        #expect(TraceID(callerID: "") == nil)
        #expect(TraceID(callerID: String(repeating: "x", count: 257)) == nil)
        #expect(TraceID(callerID: String(repeating: "x", count: 256)) != nil)
        #expect(TraceID(callerID: "00000000000000000000000000000000") != nil)  // all-zero hex is hashed, not refused
    }
}

@Suite("values and formats", .offPool)
struct FormatTests {
    @Test("durations", arguments: [
        ("90s", Int64(90_000_000_000)), ("10m", 600_000_000_000), ("1h", 3_600_000_000_000), ("500ms", 500_000_000),
        ("1.5s", 1_500_000_000), ("30", 30_000_000_000), ("0", 0), ("2d", 172_800_000_000_000),
    ])
    func duration(text: String, ns: Int64) { #expect(TimeSpan(parsing: text)?.nanoseconds == ns) }

    @Test("bad durations", arguments: ["", "s", "-1s", "1x", "soon", "1e3", "nan"])
    func badDuration(text: String) { #expect(TimeSpan(parsing: text) == nil) }

    @Test("byte counts")
    func bytes() {
        #expect(parseByteCount("65536") == 65536)
        #expect(parseByteCount("64K") == 65536)
        #expect(parseByteCount("1MiB") == 1 << 20)
        #expect(parseByteCount("1.5K") == nil)
        #expect(parseByteCount("-1") == nil)
    }

    @Test("RFC 3339 timestamps agree with Foundation for random instants")
    func timestamps() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        var rng = TestRandom()
        for _ in 0..<500 {
            let micros = Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &rng)
            let ours = rfc3339(microseconds: micros)
            let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
            let expected = f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(ours.prefix(19) == expected.prefix(19), "\(micros), \(rng)")
            #expect(ours.hasSuffix("Z") && ours.count == 27)
        }
        #expect(rfc3339(microseconds: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(utcDayStamp(microseconds: 1_795_693_724_000_000) == "20261126")
    }

    @Test("signal sets: bit N-1 for signal N, 1 to 64; anything else is never in one")
    func signalSets() {
        var set: SignalSet = [.hangup, .pipe]
        #expect(set.mask == 0x1001 && set.contains(.hangup) && set.contains(.pipe) && !set.contains(.interrupt))
        set.insert(Signal(64))
        set.insert(Signal(65))
        set.insert(Signal(0))
        set.insert(Signal(-3))
        #expect(set.mask == 0x8000_0000_0000_1001 && set.contains(Signal(64)))
        #expect(!set.contains(Signal(0)) && !set.contains(Signal(65)) && !set.contains(Signal(-3)) && !set.contains(Signal(Int32.min)))
        #expect(SignalSet().isEmpty && SignalSet(mask: 1) == [.hangup])
        #expect(SignalSet(mask: 1).union([.pipe, .hangup]) == [.pipe, .hangup])
    }

    @Test("day numbers: two instants share one iff they share a day stamp, on either side of 1970")
    func dayNumbers() {
        let day: Int64 = 86_400_000_000
        for (micros, expected) in [(Int64(0), Int64(0)), (day - 1, 0), (day, 1), (-1, -1), (-day, -1), (-day - 1, -2)] {
            #expect(utcDayNumber(microseconds: micros) == expected, "\(micros)")
        }
        var rng = TestRandom()
        for _ in 0..<500 {
            let a = Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &rng)
            let b = a + Int64.random(in: -2 * day...2 * day, using: &rng)
            let sameDay = utcDayNumber(microseconds: a) == utcDayNumber(microseconds: b)
            #expect(sameDay == (utcDayStamp(microseconds: a) == utcDayStamp(microseconds: b)), "\(a) \(b), \(rng)")
        }
    }

    @Test("JSON strings: random text with every kind of byte round-trips, raw-byte escapes become U+FFFD wherever they fall")
    func jsonStringsRandom() throws {
        let random = TestRandom()
        let alphabet: [String] = ["a", "Z", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1b}", "\u{7f}", "é", "🚀", "\u{2028}", "\u{10FF7F}", "\u{F4}"]
        for _ in 0..<500 {
            var rng = random
            let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
            var line = JSONLine(redacting: Redactor())
            line.add("s", text)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.line())) as? [String: Any], "\(random)")
            #expect(object["s"] as? String == text, "\(random)")
        }
        // An OSBytes raw-byte escape (F4 8F BE/BF xx) at the start, in the middle, at the end; cut short it stays text.
        for bytes: [UInt8] in [[0xF4, 0x8F, 0xBF, 0xBF, 0x61], [0x61, 0xF4, 0x8F, 0xBE, 0x80, 0x62], [0x61, 0xF4, 0x8F, 0xBF, 0xBF]] {
            var line = JSONLine(redacting: Redactor())
            line.add("s", String(decoding: bytes, as: UTF8.self))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.line())) as? [String: Any])
            let decoded = try #require(object["s"] as? String)
            #expect(decoded.contains("\u{FFFD}") && !decoded.unicodeScalars.contains { $0.value >= 0x10FF80 }, "\(bytes)")
        }
    }

    @Test("JSON lines escape everything JSONSerialization must read back")
    func json() throws {
        var line = JSONLine(redacting: Redactor())
        let tricky = "quote\" backslash\\ newline\n tab\t nul\u{0} bell\u{7} del\u{7f} é 🚀 \u{2028}"
        line.add("s", tricky)
        line.add("n", 42 as Int64)
        line.add("d", 2.5)
        line.add("nan", Double.nan)
        line.add("b", true)
        line.add("none", nil as String?)
        line.add("raw", bytes: [0x61, 0xff, 0x62])
        line.add("list", strings: ["a", "b\"c"])
        let bytes = line.line()
        #expect(bytes.last == 0x0A)
        #expect(!bytes.dropLast().contains(0x0A), "one record, one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["s"] as? String == tricky)
        #expect(object["n"] as? Int == 42)
        #expect(object["d"] as? Double == 2.5)
        #expect(object["nan"] is NSNull)
        #expect(object["b"] as? Bool == true)
        #expect(object["raw"] as? String == "a\u{FFFD}b")
        #expect(object["list"] as? [String] == ["a", "b\"c"])
    }

    @Test("number formatting", arguments: [(2.0, "2"), (2.5, "2.5"), (1.23456, "1.235"), (-0.5, "-0.5"), (1e20, "100000000000000000000")])
    func numbers(value: Double, text: String) {
        if value < 9e15 { #expect(JSONLine.format(value, decimals: 3) == text) }
    }

    @Test("huge finite figures stay numbers (stats --json printed null for 1.797e308); only NaN and infinity are null")
    func hugeNumbers() throws {
        for value in [1.7976931348623157e308, -1.7976931348623157e308, 1e300, 9.1e15, 1e21] {
            let text = JSONLine.format(value, decimals: 3)
            #expect(Double(text) == value, "\(value) → \(text)")
            #expect(try JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) is [Any])
        }
        #expect(JSONLine.format(.infinity, decimals: 1) == "null" && JSONLine.format(.nan, decimals: 1) == "null")
    }
}

@Suite("tail ring buffer", .offPool)
struct TailTests {
    @Test("keeps exactly the last N bytes for any chunking")
    func matchesReference() {
        var rng = TestRandom()
        for _ in 0..<200 {
            let capacity = Int.random(in: 1...64, using: &rng)
            var tail = Tail(capacity: capacity)
            var all: [UInt8] = []
            for _ in 0..<Int.random(in: 0...20, using: &rng) {
                let chunk = (0..<Int.random(in: 0...100, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7e, using: &rng) }
                all += chunk
                tail.append(chunk)
            }
            #expect(tail.bytes == Array(all.suffix(capacity)), "\(rng)")
            #expect(tail.totalBytes == Int64(all.count))
            #expect(tail.truncated == (all.count > capacity))
        }
    }

    @Test("a cut never starts in the middle of a UTF-8 character")
    func utf8Boundary() {
        var tail = Tail(capacity: 5)
        tail.append(Array("aé🚀".utf8))  // 1 + 2 + 4 bytes; the last 5 start inside é
        #expect(String(decoding: tail.bytes, as: UTF8.self) == "🚀")
    }

    @Test("a full tail keeps its bytes where they are, whatever the size of a chunk")
    func inPlace() {
        var tail = Tail(capacity: 65536)
        let chunks = [[UInt8](repeating: 1, count: 65536), [UInt8](repeating: 2, count: 70000), [UInt8](repeating: 3, count: 100),
                      [UInt8](repeating: 4, count: 65536)]
        tail.append(chunks[0])
        let address = tail.storageAddress
        for chunk in chunks.dropFirst() {
            tail.append(chunk)
            #expect(tail.storageAddress == address, "a new array for a chunk of \(chunk.count)")
        }
        #expect(tail.bytes == chunks[3])
    }

    @Test("capacity 0 keeps nothing but counts")
    func zero() {
        var tail = Tail(capacity: 0)
        tail.append([1, 2, 3])
        #expect(tail.bytes.isEmpty && tail.totalBytes == 3)
    }
}

@Suite("command line", .offPool)
struct OptionsTests {
    @Test("options stop at -- or the first non-option")
    func stops() throws {
        guard case .run(let a) = try parseInvocation(["-q", "--timeout=90s", "--", "ls", "-l"]) else { Issue.record(); return }
        #expect(a.quiet && a.timeout?.nanoseconds == 90_000_000_000 && a.command == ["ls", "-l"])
        guard case .run(let b) = try parseInvocation(["--tty", "never", "sleep", "--timeout", "1"]) else { Issue.record(); return }
        #expect(b.tty == .never && b.timeout == nil && b.command == ["sleep", "--timeout", "1"])
        guard case .run(let c) = try parseInvocation(["--capture-bytes", "1M", "--kill-after", "2s", "--log-dir", "/x", "-", "y"]) else { Issue.record(); return }
        #expect(c.captureBytes == 1 << 20 && c.killAfter?.nanoseconds == 2_000_000_000 && c.logDirectory == "/x" && c.command == ["-", "y"])
    }

    @Test("errors name the problem", arguments: [
        (["--nope", "x"], "unknown option '--nope'"), ([], "no command given"), (["--timeout"], "option --timeout needs a value"),
        (["--tty", "x", "y"], "--tty 'x' must be auto, always or never"), (["-q", "--"], "no command given"),
    ])
    func errors(args: [String], message: String) {
        #expect(throws: UsageError(message)) { try parseInvocation(args) }
    }

    @Test("exit policy: timeout wins, then exit code, then the signal")
    func exitPolicy() {
        #expect(ExitDisposition(status: .exited(3), timedOut: false) == .code(3))
        #expect(ExitDisposition(status: .signaled(.terminate, coreDumped: false), timedOut: true) == .code(124))
        #expect(ExitDisposition(status: .signaled(.kill, coreDumped: false), timedOut: false) == .signal(.kill))
    }

    @Test("wait status decoding")
    func waitStatus() {
        #expect(TerminationStatus(waitStatus: 3 << 8) == .exited(3))
        #expect(TerminationStatus(waitStatus: 15) == .signaled(.terminate, coreDumped: false))
        #expect(TerminationStatus(waitStatus: 0x80 | 11) == .signaled(Signal(11), coreDumped: true))
        #expect(Signal(name: "TERM") == .terminate && Signal(name: "SIGKILL") == .kill && Signal(name: "2") == .interrupt)
    }

    @Test("log directory: flag, AIRUN_LOG_DIR, XDG_STATE_HOME, HOME")
    func logDirectory() throws {
        // The defaults' bases must exist (airun creates only what is below them).
        let s = Scratch()
        let state = s.file("state"), home = s.file("home")
        for dir in [state, home] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        #expect(resolveLogDirectory(flag: "/a", environment: ["AIRUN_LOG_DIR": "/b"]) == "/a")
        #expect(resolveLogDirectory(flag: nil, environment: ["AIRUN_LOG_DIR": "/b", "XDG_STATE_HOME": state]) == "/b")
        #expect(resolveLogDirectory(flag: nil, environment: ["XDG_STATE_HOME": state, "HOME": home]) == state + "/airun/logs")
        #expect(resolveLogDirectory(flag: nil, environment: ["XDG_STATE_HOME": "rel", "HOME": home]) == home + "/.local/state/airun/logs")
    }
}

@Suite("signals in Core", .offPool)
struct SignalNumberTests {
    /// Core spells Linux's signal numbers out (it does not import Glibc): they must be the kernel's.
    @Test("Core's signal numbers are Glibc's")
    func numbers() {
        let pairs: [(Signal, Int32)] = [(.hangup, SIGHUP), (.interrupt, SIGINT), (.quit, SIGQUIT), (.abort, SIGABRT), (.kill, SIGKILL),
                                        (.user1, SIGUSR1), (.user2, SIGUSR2), (.pipe, SIGPIPE), (.alarm, SIGALRM), (.terminate, SIGTERM),
                                        (.child, SIGCHLD), (.continue, SIGCONT), (.stop, SIGSTOP), (.terminalStop, SIGTSTP),
                                        (.terminalInput, SIGTTIN), (.terminalOutput, SIGTTOU), (.windowChange, SIGWINCH)]
        for (s, n) in pairs { #expect(s.rawValue == n, "\(s.name)") }
        for (n, name) in [(SIGILL, "SIGILL"), (SIGTRAP, "SIGTRAP"), (SIGBUS, "SIGBUS"), (SIGFPE, "SIGFPE"), (SIGSEGV, "SIGSEGV"),
                          (SIGURG, "SIGURG"), (SIGXCPU, "SIGXCPU"), (SIGXFSZ, "SIGXFSZ"), (SIGVTALRM, "SIGVTALRM"),
                          (SIGPROF, "SIGPROF"), (SIGIO, "SIGIO"), (SIGPWR, "SIGPWR"), (SIGSYS, "SIGSYS")] {
            #expect(Signal(n).name == name)
        }
    }

    @Test("retry conditions parse and print as profiles write them", arguments: ["GPU_OOM", "exit:137", "signal:KILL"])
    func conditions(text: String) { #expect(RetryCondition(text)?.description == text) }

    @Test("not retry conditions", arguments: ["gpu_oom", "exit:256", "exit:x", "signal:NOPE", "signal:", ""])
    func notConditions(text: String) { #expect(RetryCondition(text) == nil) }
}

@Suite("signal policy and teardown as data", .offPool)
struct SignalPolicyTests {
    @Test("a terminal's Ctrl-C already reached the child in airun's group; a kill is passed on, and a second one insists")
    func termination() {
        var onTerminal = SignalPolicy(childSharesGroup: true, childOnPTY: true)
        #expect(onTerminal.actions(for: .interrupt, fromProcess: false, childRunning: true) == [.received(.interrupt)])
        #expect(onTerminal.actions(for: .interrupt, fromProcess: false, childRunning: true) == [.received(.interrupt)])  // Ctrl-C twice: the child's business
        var detached = SignalPolicy(childSharesGroup: false, childOnPTY: false)
        #expect(detached.actions(for: .terminate, fromProcess: true, childRunning: true)
                == [.received(.terminate), .deliver(.terminate), .deliver(.continue)])
        #expect(detached.actions(for: .terminate, fromProcess: true, childRunning: true)
                == [.received(.terminate), .deliver(.terminate), .deliver(.continue), .deliver(.kill)])
        var reaped = SignalPolicy(childSharesGroup: false, childOnPTY: false)
        _ = reaped.actions(for: .interrupt, fromProcess: true, childRunning: false)
        #expect(!reaped.actions(for: .interrupt, fromProcess: true, childRunning: false).contains(.deliver(.kill)))
    }

    @Test("a resize is copied to the ptys and sent again; job control and user signals pass unless the terminal sent them")
    func others() {
        var p = SignalPolicy(childSharesGroup: true, childOnPTY: true)
        #expect(p.actions(for: .windowChange, fromProcess: false, childRunning: true) == [.resizeTerminals, .deliver(.windowChange)])
        #expect(p.actions(for: .terminalStop, fromProcess: false, childRunning: true) == [])
        #expect(p.actions(for: .terminalStop, fromProcess: true, childRunning: true) == [.deliver(.terminalStop)])
        #expect(p.actions(for: .user1, fromProcess: true, childRunning: true) == [.deliver(.user1)])
        #expect(p.actions(for: .continue, fromProcess: false, childRunning: true) == [.deliver(.continue)])
        #expect(p.actions(for: .child, fromProcess: false, childRunning: true) == [])
        var pipes = SignalPolicy(childSharesGroup: true, childOnPTY: false)
        #expect(pipes.actions(for: .windowChange, fromProcess: false, childRunning: true) == [.resizeTerminals])
    }

    @Test("the timeout's teardown: SIGTERM at the deadline, SIGKILL kill-after later, each once")
    func teardown() {
        var t = Teardown(timeoutAt: 1_000, timeout: .seconds(1), killAfter: TimeSpan(nanoseconds: 500))
        #expect(t.nextDeadline == 1_000 && t.due(at: 999).isEmpty && !t.started)
        #expect(t.due(at: 1_000) == [.signal(.terminate, announce: "timed out after 1s; sending SIGTERM")])
        #expect(t.started && t.nextDeadline == 1_500)
        #expect(t.due(at: 1_200).isEmpty)
        guard case .signal(.kill, _)? = t.due(at: 2_000).first else { Issue.record(); return }
        #expect(t.nextDeadline == nil && t.due(at: 9_999).isEmpty)
    }
}
