import AirunCore
import Foundation
import Testing

/// The exporters of docs/metrics.md against the real components: promtool, node_exporter, a
/// Pushgateway scraped by Prometheus, and an OTLP receiver validating against the protos.
@Suite("Export", .serialized, .offPool)
struct ExportTests {
    // MARK: Prometheus

    @Test("airun.prom and airun metrics pass promtool, and agree", Requirement.prometheusTrait)
    func promtoolChecks() throws {
        let s = Scratch()
        let env = ["AIRUN_TEXTFILE_DIR": s.file("textfile")]
        let profile = quickProfile(s, attempts: 2)
        _ = try airun(["--profile", profile, "--", "sh", "-c", "exit 3"], environment: env, scratch: s)
        _ = try airun(["--", "sh", "-c", "echo 'llama_perf_context_print:        eval time =      20.00 ms /    10 runs   (    2.00 ms per token,   500.00 tokens per second)' >&2"],
                      environment: env, scratch: s)
        let prom = try String(contentsOfFile: s.file("textfile/airun.prom"), encoding: .utf8)
        let check = runTool(["promtool", "check", "metrics"], stdin: prom)
        #expect(check.status == 0, "promtool: \(check.output)")
        #expect(prom.contains("airun_runs_total{command=\"sh\",model=\"\",status=\"failed\",error_code=\"NONZERO_EXIT\"} 1"))
        #expect(prom.contains("airun_attempts_total{command=\"sh\",model=\"\",status=\"failed\",error_code=\"NONZERO_EXIT\"} 2"))
        #expect(prom.contains("airun_retries_total{command=\"sh\",reason=\"NONZERO_EXIT\"} 1"))
        #expect(prom.contains("airun_generation_tokens_per_second_count{command=\"sh\",model=\"\"} 1"))
        #expect(prom.contains("airun_generated_tokens_total{command=\"sh\",model=\"\"} 11"))
        #expect(!prom.contains(s.path), "a path in a label")
        let mode = (try FileManager.default.attributesOfItem(atPath: s.file("textfile/airun.prom"))[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o644, "node_exporter runs as another user")

        let printed = try airun(["metrics", "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(printed.exitCode == 0)
        // The same exposition, after the line that names its source.
        #expect(printed.stdoutText.split(separator: "\n", maxSplits: 1).last.map(String.init) == prom)
        let fromRecords = try airun(["metrics", "--from-records", "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(runTool(["promtool", "check", "metrics"], stdin: fromRecords.stdoutText).status == 0)
        #expect(fromRecords.stdoutText.contains("airun_runs_total{command=\"sh\",model=\"\",status=\"failed\",error_code=\"NONZERO_EXIT\"} 1"))
    }

    @Test("node_exporter serves the textfile; 32 concurrent runs count 32", Requirement.prometheusTrait)
    func nodeExporterCountsConcurrentRuns() throws {
        let s = Scratch()
        let textfile = s.file("textfile")
        try FileManager.default.createDirectory(atPath: textfile, withIntermediateDirectories: true)
        let port = freePort()
        let exporter = try Service(["prometheus-node-exporter", "--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults",
                                    "--collector.textfile", "--collector.textfile.directory=\(textfile)"], log: s.file("node.log"))
        defer { exporter.stop() }
        let logs = s.file("logs")
        let runs = try (0..<32).map { i in
            try AirunProcess.start(["--log-dir", logs, "--", "sh", "-c", "exit \(i % 2)"], environment: ["AIRUN_TEXTFILE_DIR": textfile])
        }
        for run in runs { _ = try run.wait() }
        var body = ""
        #expect(eventually(within: 10) {
            body = curl(["http://127.0.0.1:\(port)/metrics"]) ?? ""
            return body.contains("airun_runs_total")
        }, "node_exporter never served airun's series: \(log(s.file("node.log")))")
        let counts = body.split(separator: "\n").filter { $0.hasPrefix("airun_runs_total{") }.compactMap { Double($0.split(separator: " ").last ?? "") }
        #expect(counts.reduce(0, +) == 32, "\(body.split(separator: "\n").filter { $0.hasPrefix("airun_runs_total") })")
        #expect(body.contains("node_textfile_scrape_error 0"))
    }

    @Test("a Pushgateway receives each run; Prometheus scraping it answers PromQL", Requirement.prometheusTrait)
    func pushgatewayAndPrometheus() throws {
        let s = Scratch()
        let gatewayPort = freePort()
        let gateway = try Service(["prometheus-pushgateway", "--web.listen-address=127.0.0.1:\(gatewayPort)"], log: s.file("pushgateway.log"))
        defer { gateway.stop() }
        #expect(eventually(within: 10) { curl(["http://127.0.0.1:\(gatewayPort)/-/ready"]) != nil })
        let url = "http://127.0.0.1:\(gatewayPort)"
        let failed = try airun(["--", "sh", "-c", "exit 3"], environment: ["AIRUN_PUSHGATEWAY_URL": url], scratch: s)
        #expect(failed.exitCode == 3)
        #expect(!failed.stderr.contains("could not push"), "\(failed.stderr)")
        let pushed = curl(["\(url)/metrics"]) ?? ""
        #expect(pushed.contains("airun_last_run_exit_code{command=\"sh\""), "\(pushed)")
        // A URL that names its job keeps it; the gateway groups the push by that job and this host.
        let nightly = try airun(["--", "sh", "-c", "exit 4"], environment: ["AIRUN_PUSHGATEWAY_URL": url + "/metrics/job/nightly/team/ml"], scratch: s)
        #expect(nightly.exitCode == 4 && !nightly.stderr.contains("could not push"), "\(nightly.stderr)")
        let grouped = (curl(["\(url)/metrics"]) ?? "").split(separator: "\n").filter { $0.hasPrefix("airun_last_run_exit_code{") }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        #expect(grouped.contains { $0.contains("job=\"nightly\"") && $0.contains("team=\"ml\"") && $0.contains("instance=") && $0.hasSuffix(" 4") },
                "\(grouped) (host \(host))")
        #expect(grouped.contains { $0.contains("job=\"airun\"") && $0.hasSuffix(" 3") }, "the first group stays: \(grouped)")

        let promPort = freePort()
        let config = s.write("prometheus.yml", Array("""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: pushgateway
                honor_labels: true
                static_configs:
                  - targets: ['127.0.0.1:\(gatewayPort)']
            """.utf8))
        let prometheus = try Service(["prometheus", "--config.file=\(config)", "--storage.tsdb.path=\(s.file("tsdb"))",
                                      "--web.listen-address=127.0.0.1:\(promPort)"], log: s.file("prometheus.log"))
        defer { prometheus.stop() }
        var answer = ""
        let query = "http://127.0.0.1:\(promPort)/api/v1/query?query=airun_last_run_exit_code%7Bjob%3D%22airun%22%2Ccommand%3D%22sh%22%7D"
        let answered = eventually(within: 60) {
            answer = curl([query]) ?? ""
            return answer.contains("\"value\"")
        }
        #expect(answered, "no answer from Prometheus: \(answer) \(log(s.file("prometheus.log")).suffix(2000))")
        #expect(answer.contains("\"3\"]"), "\(answer)")
        #expect(answer.contains("\"instance\""), "grouped by job and instance: \(answer)")
    }

    // MARK: OpenTelemetry

    /// The receiver of Tests/tools/otlp_receiver.py on a free port, and what it got.
    final class Receiver {
        let service: Service
        let port: Int
        let out: String
        init(_ s: Scratch, _ extra: [String] = []) throws {
            out = s.file("otlp-\(UUID().uuidString.prefix(6)).jsonl")
            let portFile = out + ".port"
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools/otlp_receiver.py").path
            service = try Service(["python3", script, portFile, out] + extra, log: out + ".log")
            _ = eventually(within: 15) { FileManager.default.fileExists(atPath: portFile) }
            port = Int((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "") ?? 0
        }
        var url: String { "http://127.0.0.1:\(port)" }
        var received: [[String: Any]] {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        deinit { service.stop() }
    }

    static func spans(_ bodies: [[String: Any]]) -> [[String: Any]] {
        bodies.filter { $0["path"] as? String == "/v1/traces" }.flatMap { entry -> [[String: Any]] in
            let body = entry["body"] as? [String: Any] ?? [:]
            return (body["resourceSpans"] as? [[String: Any]] ?? []).flatMap { ($0["scopeSpans"] as? [[String: Any]] ?? []).flatMap { $0["spans"] as? [[String: Any]] ?? [] } }
        }
    }

    @Test("OTLP spans and logs pass the protos and match the records", Requirement.otlpTrait)
    func otlpMatchesRecords() throws {
        let s = Scratch()
        let receiver = try Receiver(s)
        let profile = quickProfile(s, attempts: 2)
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let result = try airun(["--otlp", receiver.url, "--profile", profile, "--", "sh", "-c", "echo failing >&2; exit 3"],
                               environment: ["TRACEPARENT": caller, "OTEL_SERVICE_NAME": "router-box", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test"],
                               scratch: s)
        #expect(result.exitCode == 3)
        let got = receiver.received
        #expect(got.count == 3, "traces, logs and metrics: \(got)")
        for entry in got { #expect(entry["valid"] as? Bool == true, "\(entry["error"] ?? "") \(entry["raw"] ?? "")") }
        #expect(got.allSatisfy { $0["content_type"] as? String == "application/json" })

        let spans = Self.spans(got)
        let records = result.records
        let runStart = try #require(result.records("run.start").first)
        let attempts = result.records("attempt.end")
        #expect(spans.count == 1 + attempts.count)
        #expect(attempts.count == 2)
        let run = try #require(spans.first { $0["spanId"] as? String == runStart["span_id"] as? String })
        #expect(run["traceId"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(run["parentSpanId"] as? String == "00f067aa0ba902b7", "the run is a child of the caller's span")
        #expect(run["kind"] as? Int == 1)
        #expect(run["flags"] as? Int == 0x301, "sampled, with a remote parent")
        #expect((run["status"] as? [String: Any])?["code"] as? Int == 2)
        #expect((run["events"] as? [[String: Any]])?.first?["name"] as? String == "airun.retry")
        let runAttributes = (run["attributes"] as? [[String: Any]] ?? []).reduce(into: [String: Any]()) { $0[$1["key"] as! String] = $1["value"] }
        #expect((runAttributes["process.working_directory"] as? [String: Any])?["stringValue"] as? String == runStart["cwd"] as? String,
                "the run span carries the directory the run.start record names, as docs/integration.md maps it")
        for attempt in attempts {
            let span = try #require(spans.first { $0["spanId"] as? String == attempt["span_id"] as? String })
            #expect(span["parentSpanId"] as? String == runStart["span_id"] as? String)
            #expect(span["kind"] as? Int == 3)
            #expect(span["flags"] as? Int == 0x101, "sampled, a local parent")
            #expect(span["name"] as? String == "sh")
            #expect((span["events"] as? [[String: Any]])?.first?["name"] as? String == "exception")
            let attrs = (span["attributes"] as? [[String: Any]] ?? []).reduce(into: [String: Any]()) { $0[$1["key"] as! String] = $1["value"] }
            #expect((attrs["process.exit.code"] as? [String: Any])?["intValue"] as? String == "3")
            #expect((attrs["error.type"] as? [String: Any])?["stringValue"] as? String == "NONZERO_EXIT")
        }
        // The traces and the logs arrive as two requests whose order the receiver does not keep.
        let traces = got.first { $0["path"] as? String == "/v1/traces" }
        let resource = ((traces?["body"] as? [String: Any])?["resourceSpans"] as? [[String: Any]])?.first?["resource"] as? [String: Any]
        let resourceText = String(describing: resource ?? [:])
        #expect(resourceText.contains("router-box") && resourceText.contains("deployment.environment"))

        let logs = got.filter { $0["path"] as? String == "/v1/logs" }.flatMap { entry -> [[String: Any]] in
            let body = entry["body"] as? [String: Any] ?? [:]
            return (body["resourceLogs"] as? [[String: Any]] ?? []).flatMap { ($0["scopeLogs"] as? [[String: Any]] ?? []).flatMap { $0["logRecords"] as? [[String: Any]] ?? [] } }
        }
        let errors = records.filter { $0["event"] as? String == "error" }
        #expect(logs.count == errors.count)
        #expect(logs.map { $0["severityNumber"] as? Int } == [13, 17], "WARN then ERROR")
        #expect(Set(logs.compactMap { $0["spanId"] as? String }) == Set(errors.compactMap { $0["span_id"] as? String }))
    }

    @Test("A secret reaches no OTLP payload", Requirement.otlpTrait)
    func otlpRedacts() throws {
        let s = Scratch()
        let receiver = try Receiver(s)
        let key = "sk-proj-" + String(repeating: "Ab3dE", count: 8)
        _ = try airun(["--otlp", receiver.url, "--retries", "1", "--", "sh", "-c", "echo \"auth failed for \(key)\" >&2; exit 1", "--api-key", key],
                      environment: ["OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20\(key)"], scratch: s)
        let raw = try String(contentsOfFile: receiver.out, encoding: .utf8)
        #expect(raw.contains("\"valid\": true"))
        #expect(!raw.replacingOccurrences(of: "\"authorization\": \"Bearer \(key)\"", with: "").contains(key), "the key leaked into a payload")
        #expect(raw.contains("\"authorization\": \"Bearer \(key)\""), "OTEL_EXPORTER_OTLP_HEADERS are sent as headers")
        #expect(raw.contains("REDACTED"))
    }

    @Test("A collector that is down or hung: output and status unchanged, spooled, flushed exactly once", Requirement.otlpTrait)
    func collectorDownSpoolsAndFlushes() throws {
        let s = Scratch()
        let silent = SilentListener()
        let command = ["sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 4"]
        let t0 = Date()
        let bare = try airun(["--retries", "1", "--"] + command, scratch: s)
        let t1 = Date()
        let hung = try airun(["--retries", "1", "--otlp", "http://127.0.0.1:\(silent.port)", "--"] + command, scratch: s)
        let added = Date().timeIntervalSince(t1) - t1.timeIntervalSince(t0)
        // The budget is 200 ms (bench/export.sh measures it); the slack only absorbs a noisy
        // machine, while a client without a deadline would wait for its 10 s default.
        #expect(added < 1.0, "a hung collector added \(added) s")
        #expect(hung.stdout == bare.stdout)
        #expect(hung.exitCode == 4 && bare.exitCode == 4)
        #expect(hung.stderr.contains("spooled"), "\(hung.stderr)")
        let refused = try airun(["--retries", "1", "--otlp", "http://127.0.0.1:\(freePort())", "--"] + command, scratch: s)
        #expect(refused.exitCode == 4)
        let spool = s.file("logs/spool")
        let spooled = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".json") }
        #expect(spooled.count == 6, "two runs × traces, logs and metrics: \(spooled)")

        let receiver = try Receiver(s)
        let flush = try airun(["export", "--flush", "--otlp", receiver.url, "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(flush.exitCode == 0, "\(flush.stderr)")
        #expect(flush.stdoutText.contains("sent 6, 0 remaining"), "\(flush.stdoutText)")
        let again = try airun(["export", "--flush", "--otlp", receiver.url, "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(again.stdoutText.contains("sent 0, 0 remaining"), "\(again.stdoutText)")
        let got = receiver.received
        #expect(got.count == 6 && got.allSatisfy { $0["valid"] as? Bool == true })
        let traceIDs = Self.spans(got).compactMap { $0["traceId"] as? String }
        let recorded = Set(readRecords(in: s.file("logs")).filter { $0["event"] as? String == "run.end" }.compactMap { $0["trace_id"] as? String })
        #expect(Set(traceIDs).isSubset(of: recorded))
        #expect(traceIDs.count == 4, "each span once: two runs × (run + attempt)")
    }

    @Test("The next run resends what the spool holds, once", Requirement.otlpTrait)
    func nextRunResends() throws {
        let s = Scratch()
        _ = try airun(["--otlp", "http://127.0.0.1:\(freePort())", "--", "true"], scratch: s)
        let receiver = try Receiver(s)
        _ = try airun(["--otlp", receiver.url, "--", "true"], scratch: s)
        _ = try airun(["--otlp", receiver.url, "--", "true"], scratch: s)
        let spans = Self.spans(receiver.received)
        #expect(spans.count == 6, "three runs × (run + attempt), each once")
        #expect(Set(spans.compactMap { $0["spanId"] as? String }).count == 6)
    }

    @Test("The spool is bounded: the oldest payloads make room and are counted")
    func boundedSpool() throws {
        let s = Scratch()
        let closed = "http://127.0.0.1:\(freePort())"
        for _ in 0..<6 {
            let r = try airun(["--retries", "1", "--otlp", closed, "--", "sh", "-c", "echo failing >&2; exit 1"],
                              environment: ["AIRUN_SPOOL_MAX": "8K"], scratch: s)
            #expect(r.exitCode == 1)
        }
        let spool = s.file("logs/spool")
        let files = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".json") }
        let total = try files.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: spool + "/" + $1)[.size] as? Int) ?? 0) }
        #expect(total <= 8192 && files.count < 12, "\(files.count) files, \(total) bytes")
        let flush = try airun(["export", "--flush", "--otlp", closed, "--log-dir", s.file("logs")], environment: ["AIRUN_SPOOL_MAX": "8K"], scratch: Scratch())
        #expect(flush.exitCode == 1, "payloads remain while the collector is down")
        #expect(flush.stdoutText.contains("dropped earlier to keep the spool under 8K"), "\(flush.stdoutText)")
        #expect(flush.stdoutText.contains("\(files.count) remaining"), "\(flush.stdoutText)")
    }

    @Test("A bad collector URL: --otlp is a usage error, a variable only warns")
    func badURLs() throws {
        let flag = try airun(["--otlp", "https://otel.example.com", "--", "true"])
        #expect(flag.exitCode == 125)
        #expect(flag.stderr.contains("local collector"), "\(flag.stderr)")
        let variable = try airun(["--", "sh", "-c", "echo ran"], environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com",
                                                                              "AIRUN_PUSHGATEWAY_URL": "pushgateway:9091"])
        #expect(variable.exitCode == 0 && variable.stdoutText == "ran\n")
        #expect(variable.stderr.contains("ignoring OTEL_EXPORTER_OTLP_ENDPOINT") && variable.stderr.contains("ignoring AIRUN_PUSHGATEWAY_URL"), "\(variable.stderr)")
    }

    @Test("The command's JSON log lines go out as OTLP log records in their attempt's span", Requirement.otlpTrait)
    func childLogsExported() throws {
        let s = Scratch()
        let receiver = try Receiver(s)
        let profile = s.write("router.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let result = try airun(["--otlp", receiver.url, "--profile", profile, "--", "sh", "-c",
                                #"echo '{"level":"WARNING","logger":"router","message":"slow model","model":"m1","ms":250}' >&2"#], scratch: s)
        #expect(result.exitCode == 0)
        let got = receiver.received
        #expect(got.allSatisfy { $0["valid"] as? Bool == true }, "\(got)")
        let logs = got.filter { $0["path"] as? String == "/v1/logs" }.flatMap { entry -> [[String: Any]] in
            let body = entry["body"] as? [String: Any] ?? [:]
            return (body["resourceLogs"] as? [[String: Any]] ?? []).flatMap { ($0["scopeLogs"] as? [[String: Any]] ?? []).flatMap { $0["logRecords"] as? [[String: Any]] ?? [] } }
        }
        let log = try #require(logs.first)
        #expect(logs.count == 1)
        #expect(log["severityNumber"] as? Int == 13 && log["severityText"] as? String == "WARNING")
        #expect(log["eventName"] as? String == "airun.child.log")
        #expect((log["body"] as? [String: Any])?["stringValue"] as? String == "slow model")
        #expect(log["spanId"] as? String == result.records("attempt.end").first?["span_id"] as? String)
        let attrs = (log["attributes"] as? [[String: Any]] ?? []).reduce(into: [String: Any]()) { $0[$1["key"] as! String] = $1["value"] }
        #expect((attrs["airun.child.model"] as? [String: Any])?["stringValue"] as? String == "m1")
        #expect((attrs["airun.child.ms"] as? [String: Any])?["intValue"] as? String == "250")
    }

    @Test("A textfile directory that cannot be written: a warning, the run unchanged")
    func textfileFailsOpen() throws {
        let s = Scratch()
        let notADirectory = s.write("plain-file", Array("x".utf8))
        let r = try airun(["--", "sh", "-c", "echo out; exit 7"], environment: ["AIRUN_TEXTFILE_DIR": notADirectory + "/textfile"], scratch: s)
        #expect(r.exitCode == 7 && r.stdoutText == "out\n")
        #expect(r.stderr.contains("cannot update") && r.stderr.contains("airun.prom"), "\(r.stderr)")
        #expect(r.records("run.end").count == 1, "the records are still written")
    }
}

private func log(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
