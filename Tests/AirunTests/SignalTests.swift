import AirunCore
import AirunSystem
import Foundation
import Testing

/// Real processes and real signals; serialized so timing is not shared with other heavy tests.
@Suite("signals and timeouts", .serialized, .timeLimit(.minutes(2)), .offPool)
struct SignalTests {
    /// Waits for the attempt.start record and returns the child's pid.
    /// Waits until the child printed `text` on stdout: a trap is set only once the shell ran it,
    /// which a fixed sleep cannot promise on a busy machine.
    private func waitForOutput(_ p: AirunProcess, _ text: String) -> Bool {
        eventually(within: 10) { ((try? String(contentsOfFile: p.scratch.file("stdout"), encoding: .utf8)) ?? "").contains(text) }
    }

    private func childPID(_ p: AirunProcess) throws -> Int32 {
        var pid: Int32?
        _ = eventually(within: 5) {
            pid = (readRecords(in: p.scratch.file("logs")).first { $0["event"] as? String == "attempt.start" }?["pid"] as? Int)
                .map(Int32.init)
            return pid != nil
        }
        return try #require(pid)
    }

    @Test("--timeout: SIGTERM at the deadline, exit 124, timed_out recorded")
    func timeout() throws {
        let started = Date()
        let r = try airun(["--timeout", "1s", "--", "sleep", "20"])
        #expect(r.exitCode == 124)
        #expect(Date().timeIntervalSince(started) < 5)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["timed_out"] as? Bool == true)
        #expect(end["signal"] as? String == "SIGTERM")
        #expect(end["status"] as? String == "timed_out")
    }

    @Test("a child that ignores SIGTERM is killed --kill-after later")
    func killAfter() throws {
        let started = Date()
        let r = try airun(["--timeout", "0.3s", "--kill-after", "0.5s", "--", "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.exitCode == 124)
        #expect(elapsed >= 0.75 && elapsed < 5)
        #expect(r.records("attempt.end").first?["signal"] as? String == "SIGKILL")
    }

    @Test("SIGTERM to airun: forwarded, exit 143, no child left")
    func terminate() throws {
        let p = try AirunProcess.start(["--", "sleep", "30"])
        let child = try childPID(p)
        #expect(processExists(child))
        kill(p.pid, SIGTERM)
        let r = try p.wait()
        #expect(r.status == .signaled(.terminate, coreDumped: false))
        #expect(eventually(within: 1) { !processExists(child) })
        let end = try #require(r.records("attempt.end").first)
        #expect(end["received_signal"] as? String == "SIGTERM")
        #expect(end["signal"] as? String == "SIGTERM")
    }

    @Test("a second SIGINT escalates to SIGKILL of a child that traps INT")
    func secondInterrupt() throws {
        let p = try AirunProcess.start(["--", "sh", "-c", "trap 'echo got-int' INT; echo ready; while :; do sleep 0.05; done"])
        #expect(waitForOutput(p, "ready\n"))
        kill(p.pid, SIGINT)
        #expect(waitForOutput(p, "got-int"))
        kill(p.pid, SIGINT)
        let r = try p.wait()
        #expect(r.status == .signaled(.kill, coreDumped: false))
        #expect(r.stdoutText.contains("got-int"))
    }

    @Test("USR1 is forwarded to the child")
    func forwardUser1() throws {
        let p = try AirunProcess.start(["-q", "--", "sh", "-c", "trap 'echo usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"])
        #expect(waitForOutput(p, "ready\n"))
        kill(p.pid, SIGUSR1)
        let r = try p.wait()
        #expect(r.stdoutText == "ready\nusr1\n")
        #expect(r.exitCode == 7)
    }

    @Test("SIGPIPE sent to airun reaches the child, which dies of it as the bare command would (was swallowed: exit 0)")
    func forwardPipe() throws {
        let p = try AirunProcess.start(["-q", "--", "sleep", "5"])
        _ = try childPID(p)
        kill(p.pid, SIGPIPE)
        let r = try p.wait()
        #expect(r.status == .signaled(.pipe, coreDumped: false), "\(r.status) \(r.stderr)")
        #expect(r.records("attempt.end").first?["signal"] as? String == "SIGPIPE")
        // A child that handles it goes on, as without airun.
        let q = try AirunProcess.start(["-q", "--", "sh", "-c", "trap 'echo pipe; exit 0' PIPE; echo ready; while :; do sleep 0.05; done"])
        #expect(waitForOutput(q, "ready\n"))
        kill(q.pid, SIGPIPE)
        let handled = try q.wait()
        #expect(handled.exitCode == 0 && handled.stdoutText == "ready\npipe\n", "\(handled.stdoutText)")
    }

    @Test("SIGKILL to airun: the child dies within a second; attempt.start is on disk")
    func parentDeath() throws {
        let p = try AirunProcess.start(["--", "sleep", "30"])
        let child = try childPID(p)
        kill(p.pid, SIGKILL)
        let r = try p.wait()
        #expect(r.status == .signaled(.kill, coreDumped: false))
        #expect(eventually(within: 1) { !processExists(child) })
        let events = r.records.compactMap { $0["event"] as? String }
        #expect(events == ["run.start", "attempt.start"])
    }

    @Test("a grandchild holding the pipes does not keep airun waiting")
    func grandchildHoldsPipe() throws {
        let started = Date()
        let r = try airun(["-q", "--", "sh", "-c", "sleep 30 & echo started"])
        #expect(r.stdoutText == "started\n")
        #expect(r.exitCode == 0)
        #expect(Date().timeIntervalSince(started) < 5)
    }
}
