import AirunCore
import Foundation
import Glibc
import Testing

/// Servers under airun (docs/servers.md) with real processes: the real llama-server and the tiny
/// model, and small shell servers for the start limit, readiness timeout, memory limit and reload.
@Suite("servers under airun", .serialized, .timeLimit(.minutes(3)), .offPool)
struct ServerLiveTests {
    static var llamaServer: String { Llama.server }

    /// Waits until the records hold `count` of `event` (and `extra` holds), or fails.
    private func waitFor(_ p: AirunProcess, _ event: String, count: Int = 1, within seconds: Double = 60,
                       sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        var found: [[String: Any]] = []
        let ok = eventually(within: seconds) {
            found = readRecords(in: p.scratch.file("logs")).filter { $0["event"] as? String == event }
            return found.count >= count
        }
        #expect(ok, "no \(count) \(event) record(s) in \(seconds) s; stderr: \(stderrOf(p).suffix(800))", sourceLocation: sourceLocation)
        return found
    }

    private func stderrOf(_ p: AirunProcess) -> String { (try? String(contentsOfFile: p.scratch.file("stderr"), encoding: .utf8)) ?? "" }

    @Test("llama-server: ready with its load time, kill -9 restarts it in the same trace, heartbeats read its metrics, SIGTERM stops it",
          Requirement.llamaTrait, Requirement.prometheusTrait)
    func llamaServer() throws {
        let s = Scratch()
        let port = freePort()
        let textfile = s.file("textfile")
        let p = try AirunProcess.start(["--heartbeat", "1s", "--", Self.llamaServer, "-m", Llama.model, "--port", String(port), "--metrics",
                                        "-t", "2", "-c", "256"],
                                       scratch: s, environment: ["AIRUN_TEXTFILE_DIR": textfile])
        defer { kill(p.pid, SIGKILL) }
        // The shipped llama-server profile: restart on failure, ready on /health at the command's port.
        let ready = waitFor(p, "ready")
        #expect(ready.first?["via"] as? String == "url" && ready.first?["model_id"] as? String == "tiny")
        #expect((ready.first?["ready_ms"] as? Double ?? -1) > 0)
        // The line follows the record: wait for it, as for any output (a busy machine once read
        // stderr between the two).
        #expect(eventually(within: 10) { stderrOf(p).contains("airun: ready after ") }, "\(stderrOf(p).suffix(400))")
        // A request, so the server's own counters move: four tokens whatever it samples (a run
        // once ended at three, on the tiny model's end-of-text).
        let answer = runTool(["curl", "-s", "-m", "30", "http://127.0.0.1:\(port)/completion", "-d",
                              #"{"prompt":"hello","n_predict":4,"ignore_eos":true,"seed":25}"#])
        #expect(answer.output.contains("\"tokens_predicted\":4"), "\(answer.output.prefix(300))")
        // A heartbeat after the answer has the server's own count of its tokens (on a busy machine the
        // first heartbeats may come before ready, or while the request is processed).
        // A heartbeat's figures are its window's samples: on a loaded machine a window may hold
        // none (its figures are then absent, not zero), so wait for one that holds some too.
        var beats: [[String: Any]] = []
        func sampled(_ beat: [String: Any]) -> Bool { (beat["samples"] as? Int ?? 0) > 0 }
        let scraped = eventually(within: 60) {
            beats = readRecords(in: s.file("logs")).filter { $0["event"] as? String == "heartbeat" }
            return beats.contains { ($0["server_predicted_tokens_total"] as? Double ?? 0) >= 4 }
                && beats.contains { $0["ready"] as? Bool == true && sampled($0) }
        }
        #expect(scraped, "heartbeats: \(beats)")
        let whileReady = beats.filter { $0["ready"] as? Bool == true }
        #expect(!whileReady.isEmpty && whileReady.allSatisfy { $0["model_id"] as? String == "tiny" }, "\(beats)")
        #expect(whileReady.allSatisfy { sampled($0) ? ($0["peak_rss_mb"] as? Double ?? 0) > 0 : $0["peak_rss_mb"] == nil || $0["peak_rss_mb"] is NSNull },
                "\(beats)")

        // kill -9 of the server: restarted after the profile's 2 s and ready again.
        let first = try #require(waitFor(p, "attempt.start").first?["pid"] as? Int)
        kill(Int32(first), SIGKILL)
        let readies = waitFor(p, "ready", count: 2, within: 60)
        let records = readRecords(in: s.file("logs"))
        #expect(Set(records.compactMap { $0["trace_id"] as? String }).count == 1, "one trace")
        let restart = try #require(records.first { $0["event"] as? String == "retry" })
        #expect(restart["restart"] as? Bool == true && restart["error_code"] as? String == "KILLED_BY_SIGNAL" && restart["delay_ms"] as? Double == 2000)
        #expect(readies.last?["attempt"] as? Int == 2)
        #expect(stderrOf(p).contains("restarting in 2 s after KILLED_BY_SIGNAL (start 2)"), "\(stderrOf(p).suffix(600))")

        // The textfile follows the server: up, a restart, the server's tokens under the model's name.
        // It is written just after the ready record reaches the log file (the fan-out's second
        // sink): wait for it, as for any output (a run of CI once read it in between).
        _ = waitFor(p, "heartbeat", count: beats.count + 1)
        var prom = ""
        let upAgain = eventually(within: 10) {
            prom = (try? String(contentsOfFile: textfile + "/airun.prom", encoding: .utf8)) ?? ""
            return prom.contains(#"airun_up{command="llama-server",model="tiny"} 1"#)
        }
        #expect(upAgain, "\(prom)")
        #expect(prom.contains(#"airun_restarts_total{command="llama-server",model="tiny",reason="KILLED_BY_SIGNAL"} 1"#), "\(prom)")
        #expect(prom.contains(#"airun_server_predicted_tokens_total{command="llama-server",model="tiny"} 4"#), "\(prom)")
        #expect(prom.contains(#"airun_ready_seconds{command="llama-server",model="tiny"}"#))
        let check = runTool(["promtool", "check", "metrics"], stdin: prom)
        #expect(check.status == 0, "promtool: \(check.output)")

        // SIGTERM to airun: the server stops, and is not started again.
        let second = try #require(readRecords(in: s.file("logs")).last { $0["event"] as? String == "attempt.start" }?["pid"] as? Int)
        kill(p.pid, SIGTERM)
        _ = try p.wait()
        #expect(!processExists(Int32(second)))
        let after = readRecords(in: s.file("logs"))
        #expect(after.filter { $0["event"] as? String == "attempt.start" }.count == 2)
        #expect(after.last?["event"] as? String == "run.end")
        let finalProm = try String(contentsOfFile: textfile + "/airun.prom", encoding: .utf8)
        #expect(finalProm.contains(#"airun_up{command="llama-server",model="tiny"} 0"#), "\(finalProm)")
        // stats counts the restart and the mean load time per model, by either way of reading.
        let stats = try airun(["stats", "--log-dir", s.file("logs"), "--json"])
        let byModel = try #require((try JSONSerialization.jsonObject(with: Data(stats.stdout)) as? [String: Any])?["by_model"] as? [String: Any])
        let tiny = try #require(byModel["tiny"] as? [String: Any], "\(stats.stdoutText)")
        #expect(tiny["restarts"] as? Int == 1 && tiny["attempts"] as? Int == 2 && (tiny["mean_ready_ms"] as? Double ?? 0) > 0, "\(tiny)")
        let statsText = try airun(["stats", "--log-dir", s.file("logs")])
        #expect(statsText.stdoutText.contains("restarts   load"), "\(statsText.stdoutText)")
        let tree = try airun(["trace", "--log-dir", s.file("logs"), "last"])
        #expect(tree.stdoutText.contains("├─ restart "), "\(tree.stdoutText)")
        #expect(tree.stdoutText.components(separatedBy: "ready after").count == 3, "\(tree.stdoutText)")
    }

    @Test("llama-server that cannot listen (its port is taken): restarted with the backoff, then airun gives up at the start limit, exit 123",
          Requirement.llamaTrait)
    func llamaServerStartLimit() throws {
        let s = Scratch()
        let taken = SilentListener()
        let profile = s.write("server.toml", Array("""
            [restart]
            policy = "on-failure"
            initial_delay = "50ms"
            start_limit = 3
            start_window = "5m"
            [ready]
            url = "http://{host}:{port}/health"
            timeout = "60s"
            """.utf8))
        let r = try airun(["--profile", profile, "--", Llama.server, "-m", Llama.model, "--port", String(taken.port), "-t", "2", "-c", "256"],
                          scratch: s)
        #expect(r.exitCode == ExitCode.startLimit, "\(r.status) \(r.stderr.suffix(800))")
        #expect(r.records("attempt.start").count == 3 && r.records("ready").isEmpty)
        #expect(r.records("retry").map { $0["delay_ms"] as? Double } == [50, 100])
        #expect(r.records("retry").allSatisfy { $0["restart"] as? Bool == true && $0["model_id"] as? String == "tiny"
            && $0["error_code"] as? String == "ADDRESS_IN_USE" })
        // Why it died, from llama-server's own line, on the console's last lines.
        let error = try #require(r.records("error").last)
        #expect((error["evidence"] as? String ?? "").contains("couldn't bind HTTP server socket"), "\(error["evidence"] ?? "")")
        #expect(r.stderr.contains("ADDRESS_IN_USE model=tiny"), "\(r.stderr.suffix(600))")
        #expect(r.stderr.contains("giving up: 3 starts within 5m (restart.start_limit = 3); exit 123"), "\(r.stderr.suffix(600))")
        let end = try #require(r.records("run.end").first)
        #expect(end["exit_code"] as? Int == 123 && (end["message"] as? String ?? "").contains("gave up"), "\(end)")
    }

    @Test("a server that keeps failing: airun gives up at the start limit with exit 123")
    func startLimit() throws {
        let s = Scratch()
        let profile = s.write("svc.toml", Array("""
            [restart]
            policy = "always"
            initial_delay = "10ms"
            max_delay = "40ms"
            start_limit = 3
            start_window = "1m"
            """.utf8))
        let r = try airun(["--profile", profile, "--", "sh", "-c", "echo starting; exit 3"], scratch: s)
        #expect(r.exitCode == ExitCode.startLimit, "\(r.status) \(r.stderr)")
        #expect(r.records("attempt.start").count == 3)
        #expect(r.records("retry").map { $0["delay_ms"] as? Double } == [10, 20])
        #expect(r.stderr.contains("airun: giving up: 3 starts within 1m (restart.start_limit = 3); exit 123"), "\(r.stderr)")
        let end = try #require(r.records("run.end").first)
        #expect(end["exit_code"] as? Int == 123 && end["attempts"] as? Int == 3)
        // --max-time bounds a server's restarts too: no start begins past it, and the last status stands.
        let bounded = try airun(["--restart", "always", "--max-time", "1s", "--", "sh", "-c", "sleep 0.2; exit 3"])
        #expect(bounded.exitCode == 3, "\(bounded.stderr)")
        #expect(bounded.stderr.contains("not restarting: --max-time leaves no time for another start"), "\(bounded.stderr)")
        #expect((1...4).contains(bounded.records("attempt.start").count))
        // A stop code ends it at once; on-failure does not restart a clean exit.
        let stop = try airun(["--profile", profile, "--", "sh", "-c", "exit 0"], scratch: Scratch())
        #expect(stop.exitCode == 123, "always restarts a clean exit too: \(stop.stderr)")
        let clean = try airun(["--restart", "on-failure", "--", "sh", "-c", "exit 0"])
        #expect(clean.exitCode == 0 && clean.records("attempt.start").count == 1)
    }

    @Test("not ready in time: READY_TIMEOUT with the server's last line; --ready-line marks ready")
    func readiness() throws {
        let slow = try airun(["--ready-line", "listening on", "--ready-timeout", "1s", "--kill-after", "1s", "--",
                              "sh", "-c", "echo 'loading model'; exec sleep 30"])
        let error = try #require(slow.records("error").first, "\(slow.stderr)")
        #expect(error["error_code"] as? String == "READY_TIMEOUT")
        #expect(error["evidence"] as? String == "not ready within 1s; its last line: loading model")
        #expect(slow.stderr.contains("not ready after 1s; sending SIGTERM"), "\(slow.stderr)")
        let quick = try airun(["--ready-line", "listening on [0-9]+", "--", "sh", "-c", "echo 'listening on 8080'; sleep 0.3"])
        #expect(quick.exitCode == 0)
        let ready = try #require(quick.records("ready").first, "\(quick.stderr)")
        #expect(ready["via"] as? String == "line" && ready["evidence"] as? String == "listening on 8080")
    }

    @Test("--max-memory stops a server that grows past it as MEMORY_LIMIT")
    func memoryLimit() throws {
        let r = try airun(["--max-memory", "64M", "--sample-interval", "50ms", "--", "python3", "-c",
                           "import time\nx = bytearray(200 << 20)\nfor i in range(0, len(x), 4096): x[i] = 1\ntime.sleep(30)"])
        let error = try #require(r.records("error").first, "\(r.stderr)")
        #expect(error["error_code"] as? String == "MEMORY_LIMIT", "\(error)")
        #expect((error["evidence"] as? String ?? "").contains("passed --max-memory 64 MiB"), "\(error)")
    }

    @Test("OTLP: each start's span reaches the collector when the server restarts, not when it ends; every span once", Requirement.otlpTrait)
    func spansPerStart() throws {
        let s = Scratch()
        let receiver = try ExportTests.Receiver(s)
        let p = try AirunProcess.start(["--otlp", receiver.url, "--restart", "on-failure", "--ready-line", "up", "--", "sh", "-c",
                                        "echo up; sleep 60"], scratch: s)
        defer { kill(p.pid, SIGKILL) }
        _ = waitFor(p, "ready")
        let first = try #require(waitFor(p, "attempt.start").first?["pid"] as? Int)
        kill(Int32(first), SIGKILL)
        _ = waitFor(p, "ready", count: 2)
        // The run goes on; the first start's span is at the collector already, with its failure.
        #expect(eventually(within: 10) { ExportTests.spans(receiver.received).count == 1 }, "\(receiver.received)")
        let early = ExportTests.spans(receiver.received)
        #expect(early.first?["kind"] as? Int == 3, "an attempt span: \(early)")
        kill(p.pid, SIGTERM)
        _ = try p.wait()
        #expect(eventually(within: 10) { ExportTests.spans(receiver.received).count == 3 }, "\(receiver.received)")
        let spans = ExportTests.spans(receiver.received)
        #expect(Set(spans.compactMap { $0["spanId"] as? String }).count == 3, "the two starts and the run, each once: \(spans)")
        for entry in receiver.received { #expect(entry["valid"] as? Bool == true, "\(entry["error"] ?? "")") }
        let run = try #require(spans.first { $0["kind"] as? Int == 1 })
        #expect((run["events"] as? [[String: Any]] ?? []).count == 1, "the restart is the run span's event")
    }

    @Test("SIGHUP to airun restarts the server at once; the reload does not count toward the start limit")
    func reload() throws {
        let s = Scratch()
        let p = try AirunProcess.start(["--restart", "on-failure", "--ready-line", "up", "--", "sh", "-c", "echo up; exec sleep 60"], scratch: s)
        defer { kill(p.pid, SIGKILL) }
        _ = waitFor(p, "ready")
        kill(p.pid, SIGHUP)
        let readies = waitFor(p, "ready", count: 2, within: 30)
        #expect(readies.last?["attempt"] as? Int == 2)
        let retry = try #require(readRecords(in: s.file("logs")).first { $0["event"] as? String == "retry" })
        #expect(retry["reason"] as? String == "SIGHUP (reload)" && retry["delay_ms"] as? Double == 0)
        kill(p.pid, SIGTERM)
        let r = try p.wait()
        #expect(r.records("attempt.start").count == 2)
        #expect(r.records("run.end").count == 1)
    }
}
