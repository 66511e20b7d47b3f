import AirunCore
import Testing

/// The outcome of an attempt as pure data: exit code, status, console summary and the records,
/// for each kind of termination, without running a process (docs/process-model.md, "Exit status").
@Suite("attempt outcome", .offPool)
struct OutcomeTests {
    static let identity = RecordIdentity(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, spanID: SpanID("00f067aa0ba902b7")!,
                                         parentSpanID: nil, requestID: "00f067aa0ba902b7-1")

    static func ran(_ status: TerminationStatus, timedOut: Bool = false, outputLost: String? = nil) -> AttemptMeasurement.Process {
        var run = ProcessRun(pid: 4242, status: status)
        run.timedOut = timedOut
        run.outputLost = outputLost
        run.durationNanoseconds = 1_504_000_000
        return .ran(run)
    }

    static func outcome(_ process: AttemptMeasurement.Process, _ code: ErrorCode? = nil, tokens: Int? = nil) -> AttemptOutcome {
        let m = AttemptMeasurement(number: 2, command: ["llama-completion", "-m", "/m/tiny.gguf"], identity: identity,
                                   startedWall: 1_000_000, endedWall: 2_504_000, process: process)
        var findings = AttemptFindings(verdict: code.map { Verdict(code: $0, retryable: $0.retryableByDefault, evidence: "e", rule: "r") })
        findings.performance.tokensGenerated = tokens
        findings.performance.tokensPerSecond = tokens.map { _ in 20.06 }
        return AttemptOutcome(m, findings)
    }

    struct Expected: Sendable, CustomTestStringConvertible {
        let name: String
        let process: AttemptMeasurement.Process
        let code: ErrorCode?
        let disposition: ExitDisposition
        let exitCode: Int32
        let status: AttemptStatus
        let summary: String
        let message: String
        var testDescription: String { name }
    }

    static let cases: [Expected] = [
        Expected(name: "exit 0", process: ran(.exited(0)), code: nil, disposition: .code(0), exitCode: 0, status: .succeeded,
                 summary: "exit=0", message: "attempt 2 exited with 0 after 1.50s"),
        Expected(name: "exit 3", process: ran(.exited(3)), code: .nonzeroExit, disposition: .code(3), exitCode: 3, status: .failed,
                 summary: "exit=3 NONZERO_EXIT", message: "attempt 2 exited with 3 after 1.50s"),
        Expected(name: "SIGKILL", process: ran(.signaled(.kill, coreDumped: false)), code: .oomKilled, disposition: .signal(.kill),
                 exitCode: 137, status: .signaled, summary: "exit=137 (SIGKILL) OOM_KILLED", message: "attempt 2 killed by SIGKILL after 1.50s"),
        Expected(name: "SIGSEGV, core dumped", process: ran(.signaled(Signal(11), coreDumped: true)), code: .killedBySignal,
                 disposition: .signal(Signal(11)), exitCode: 139, status: .signaled, summary: "exit=139 (SIGSEGV) KILLED_BY_SIGNAL",
                 message: "attempt 2 killed by SIGSEGV (core dumped) after 1.50s"),
        Expected(name: "timed out, killed by SIGTERM", process: ran(.signaled(.terminate, coreDumped: false), timedOut: true), code: .timeout,
                 disposition: .code(124), exitCode: 124, status: .timedOut, summary: "exit=124 TIMEOUT (timed out)",
                 message: "attempt 2 timed out, killed by SIGTERM after 1.50s"),
        Expected(name: "timed out, then exit 0 on SIGTERM", process: ran(.exited(0), timedOut: true), code: .timeout,
                 disposition: .code(124), exitCode: 124, status: .timedOut, summary: "exit=124 TIMEOUT (timed out)",
                 message: "attempt 2 timed out after 1.50s"),
        Expected(name: "exit 0, output lost", process: ran(.exited(0), outputLost: "stdout: No space left on device"), code: .outputLost,
                 disposition: .code(1), exitCode: 1, status: .failed, summary: "exit=1 OUTPUT_LOST", message: "attempt 2 exited with 0 after 1.50s"),
        Expected(name: "exit 3, output lost too", process: ran(.exited(3), outputLost: "stdout: Broken pipe"), code: .nonzeroExit,
                 disposition: .code(3), exitCode: 3, status: .failed, summary: "exit=3 NONZERO_EXIT", message: "attempt 2 exited with 3 after 1.50s"),
        Expected(name: "not found", process: .notStarted(StartFailure(.notFound, reason: "llama-completion: command not found")),
                 code: .commandNotFound, disposition: .code(127), exitCode: 127, status: .notFound, summary: "exit=127 COMMAND_NOT_FOUND",
                 message: "attempt 2 did not start: llama-completion: command not found"),
        Expected(name: "not executable", process: .notStarted(StartFailure(.notExecutable, reason: "/m/x: Permission denied")),
                 code: .permissionDenied, disposition: .code(126), exitCode: 126, status: .notExecutable,
                 summary: "exit=126 PERMISSION_DENIED", message: "attempt 2 did not start: /m/x: Permission denied"),
        Expected(name: "airun's own failure", process: .notStarted(StartFailure(.airunError, reason: "cannot start x: pipe: EMFILE")),
                 code: .nonzeroExit, disposition: .code(125), exitCode: 125, status: .airunError, summary: "exit=125 NONZERO_EXIT",
                 message: "attempt 2 did not start: cannot start x: pipe: EMFILE"),
    ]

    @Test("exit code, status, summary and message for each kind of termination", arguments: cases)
    func termination(_ e: Expected) {
        let o = Self.outcome(e.process, e.code)
        #expect(o.disposition == e.disposition)
        #expect(o.exitCode == e.exitCode)
        #expect(o.status == e.status)
        #expect(o.summary == e.summary)
        #expect(o.measurement.message == e.message)
        #expect(o.failed == (e.code != nil))
        // The records carry the same figures.
        let end = AttemptEnd(o, labels: RunLabels())
        #expect(end.exitCode == Int64(e.exitCode) && end.status == e.status)
        #expect(end.timedOut == (e.status == .timedOut))
        #expect((AttemptError(o, labels: RunLabels(), context: FailureContext()) != nil) == o.failed)
    }

    @Test("the retry planner sees the child's own code, or the signal, never airun's 128+N")
    func ending() {
        let killed = Self.outcome(Self.ran(.signaled(.kill, coreDumped: false)), .oomKilled).ending
        #expect(killed.exitCode == nil && killed.signal == .kill && killed.code == .oomKilled)
        let exited = Self.outcome(Self.ran(.exited(3)), .nonzeroExit).ending
        #expect(exited.exitCode == 3 && exited.signal == nil)
    }

    @Test("a success names its tokens and rate; a failure never does")
    func tokens() {
        #expect(Self.outcome(Self.ran(.exited(0)), tokens: 64).summary == "exit=0 64 tok 20.1 tok/s")
        #expect(Self.outcome(Self.ran(.exited(1)), .nonzeroExit, tokens: 64).summary == "exit=1 NONZERO_EXIT")
    }

    @Test("128+N is the shell's code for every signal; a timeout wins over the signal")
    func signalCodes() {
        for n in Int32(1)...64 {
            let s = Signal(n)
            #expect(ExitDisposition(status: .signaled(s, coreDumped: false), timedOut: false).exitCode == 128 + n)
            #expect(ExitDisposition(status: .signaled(s, coreDumped: false), timedOut: true) == .code(124))
        }
    }

    @Test("a status this airun does not know reads back unchanged and is not a success")
    func unknownStatus() throws {
        var end = AttemptEnd()
        end.status = AttemptStatus(rawValue: "paused_by_operator")
        let line = Record(.attemptEnd(end), level: .info, message: "", identity: Self.identity, timestampMicroseconds: 1).line(redactor: Redactor())
        guard case .attemptEnd(let back) = try Record(line: line[...]).event else {
            Issue.record("not an attempt.end")
            return
        }
        #expect(back.status.rawValue == "paused_by_operator")
        #expect(back.status != .succeeded)
    }
}
