import AirunCore
import Foundation
import Testing

/// The exporters' pure parts: metric counting, the state file, endpoints and the OTEL variables.
@Suite("Export core", .offPool)
struct ExportCoreTests {
    static let trace = TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!
    static let run = SpanID("00f067aa0ba902b7")!

    /// The records of one run of `command` whose attempts end with `statuses` (a failure gets its
    /// error record and, when another attempt follows, a retry).
    static func runRecords(_ command: String, _ statuses: [String], model: String? = nil) -> [Record] {
        func id(_ span: SpanID, parent: SpanID?) -> RecordIdentity { RecordIdentity(traceID: trace, spanID: span, parentSpanID: parent, requestID: span.hex) }
        var out: [Record] = []
        var start = RunStart()
        start.command = [command, "-x"]
        start.modelID = model
        out.append(Record(.runStart(start), level: .info, message: "", identity: id(run, parent: nil), timestampMicroseconds: 1_000_000))
        for (i, status) in statuses.enumerated() {
            let span = SpanID(String(format: "%016x", i + 1))!
            var end = AttemptEnd()
            end.attempt = Int64(i + 1)
            end.status = AttemptStatus(rawValue: status)
            end.exitCode = status == "succeeded" ? 0 : 1
            end.durationMs = 1500
            end.modelID = model
            out.append(Record(.attemptEnd(end), level: .info, message: "", identity: id(span, parent: run), timestampMicroseconds: 2_000_000))
            guard status != "succeeded" else { continue }
            var error = AttemptError()
            error.errorCode = "OUT_OF_MEMORY"
            error.attempt = Int64(i + 1)
            out.append(Record(.error(error), level: .error, message: "", identity: id(span, parent: run), timestampMicroseconds: 2_000_000))
            if i + 1 < statuses.count {
                var retry = Retry()
                retry.attempt = Int64(i + 1)
                retry.errorCode = "OUT_OF_MEMORY"
                out.append(Record(.retry(retry), level: .warning, message: "", identity: id(run, parent: nil), timestampMicroseconds: 2_000_000))
            }
        }
        var end = RunEnd()
        end.status = AttemptStatus(rawValue: statuses.last ?? "succeeded")
        end.exitCode = end.status == "succeeded" ? 0 : 1
        end.errorCode = end.exitCode == 0 ? nil : "OUT_OF_MEMORY"
        end.attempts = Int64(statuses.count)
        out.append(Record(.runEnd(end), level: .info, message: "", identity: id(run, parent: nil), timestampMicroseconds: 3_000_000))
        return out
    }

    @Test("A run is counted once, its attempts by their error code, its retries by reason")
    func counting() {
        var m = MetricsAccumulator()
        for r in Self.runRecords("/usr/bin/llama-completion", ["failed", "succeeded"], model: "tiny") { m.add(r) }
        let text = m.state.exposition()
        #expect(text.contains("airun_runs_total{command=\"llama-completion\",model=\"tiny\",status=\"succeeded\",error_code=\"\"} 1"))
        #expect(text.contains("airun_attempts_total{command=\"llama-completion\",model=\"tiny\",status=\"failed\",error_code=\"OUT_OF_MEMORY\"} 1"))
        #expect(text.contains("airun_attempts_total{command=\"llama-completion\",model=\"tiny\",status=\"succeeded\",error_code=\"\"} 1"))
        #expect(text.contains("airun_retries_total{command=\"llama-completion\",reason=\"OUT_OF_MEMORY\"} 1"))
        #expect(text.contains("airun_attempt_duration_seconds_bucket{command=\"llama-completion\",model=\"tiny\",le=\"1\"} 0"))
        #expect(text.contains("airun_attempt_duration_seconds_bucket{command=\"llama-completion\",model=\"tiny\",le=\"2.5\"} 2"))
        #expect(text.contains("airun_attempt_duration_seconds_bucket{command=\"llama-completion\",model=\"tiny\",le=\"+Inf\"} 2"))
        #expect(text.contains("airun_attempt_duration_seconds_sum{command=\"llama-completion\",model=\"tiny\"} 3"))
        #expect(text.contains("airun_last_success_timestamp_seconds{command=\"llama-completion\",model=\"tiny\"} 3"))
        #expect(!text.contains("/usr/bin"), "never a path")
        #expect(text.hasSuffix("\n"))
    }

    @Test("The state file round-trips; a torn line loses only its series")
    func stateFile() {
        var m = MetricsAccumulator()
        for r in Self.runRecords("a", ["failed", "failed"]) + Self.runRecords("b", ["succeeded"]) { m.add(r) }
        let encoded = m.state.encoded()
        let decoded = MetricsState(decoding: encoded)
        #expect(decoded.exposition() == m.state.exposition())
        #expect(decoded.rejectedLines == 0)
        var lines = String(decoding: encoded, as: UTF8.self).split(separator: "\n").map(String.init)
        lines[1] = String(lines[1].prefix(20))
        lines.insert("{\"family\":\"airun_runs_total\",\"labels\":[\"too\",\"few\"],\"value\":1}", at: 2)
        lines.insert("{\"family\":\"airun_attempt_duration_seconds\",\"labels\":[\"a\",\"\"],\"buckets\":[1],\"sum\":1,\"count\":1}", at: 2)
        let damaged = MetricsState(decoding: Array(lines.joined(separator: "\n").utf8))
        #expect(damaged.rejectedLines == 3)
        #expect(damaged.series.count == m.state.series.count - 1)
        // Found by the fuzzer: an empty first line trapped; counts near 2^63 must saturate.
        #expect(MetricsState(decoding: Array("\n\n{}\n".utf8)).series.isEmpty)
        let huge = "{\"family\":\"airun_attempt_duration_seconds\",\"labels\":[\"a\",\"\"],\"buckets\":[\(String(repeating: "9223372036854775807,", count: 14))9223372036854775807],\"sum\":1,\"count\":9223372036854775807}"
        var saturated = MetricsState(decoding: Array("\(huge)\n\(huge)\n".utf8))
        saturated.observe(Metrics.duration, ["a", ""], 1)
        #expect(saturated.exposition().contains("airun_attempt_duration_seconds_count{command=\"a\",model=\"\"} 9223372036854775807"))
        var twice = decoded
        twice.merge(decoded)
        #expect(twice.exposition().contains("airun_runs_total{command=\"a\",model=\"\",status=\"failed\",error_code=\"OUT_OF_MEMORY\"} 2"))
    }

    @Test("Label values are escaped and bounded; past 1000 series a family counts under _other")
    func boundedLabels() {
        var state = MetricsState()
        state.increment(Metrics.retries, ["we\"ird\\name\nx", "R"])
        #expect(state.exposition().contains(#"airun_retries_total{command="we\"ird\\name_x",reason="R"} 1"#))
        for i in 0..<1100 { state.increment(Metrics.retries, ["cmd\(i)", "R"]) }
        #expect(state.series.keys.filter { $0.family == Metrics.retries.name }.count == MetricsState.maxSeriesPerFamily + 1)
        #expect(state.exposition().contains("airun_retries_total{command=\"_other\",reason=\"_other\"} 101"))
        state.increment(Metrics.runs, [String(repeating: "x", count: 500), "", "", ""])
        #expect(state.series.keys.contains { $0.family == Metrics.runs.name && $0.labels[0].count == 128 })
    }

    @Test("Endpoints: http only, with a clear way out for https")
    func endpoints() throws {
        let e = try HTTPEndpoint.parse("http://collector:4318", defaultPort: 4318).get()
        #expect(e == HTTPEndpoint(host: "collector", port: 4318, path: "/"))
        #expect(e.appending("v1/traces").path == "/v1/traces")
        #expect(try HTTPEndpoint.parse("http://h/base/", defaultPort: 4318).get().appending("v1/logs").path == "/base/v1/logs")
        #expect(try HTTPEndpoint.parse("http://[::1]:9091", defaultPort: 1).get() == HTTPEndpoint(host: "::1", port: 9091, path: "/"))
        guard case .failure(let https) = HTTPEndpoint.parse("https://otel.example.com", defaultPort: 4318) else { Issue.record("https accepted"); return }
        #expect(https.reason.contains("local collector"))
        for bad in ["ftp://x", "http://", "http://h:0", "http://h:99999", "http://u:p@h", "http://h/a b", "http://h/?q=1"] {
            if case .success = HTTPEndpoint.parse(bad, defaultPort: 1) { Issue.record("accepted \(bad)") }
        }
    }

    @Test("Pushgateway groups: job airun by default, a job the URL names kept, the instance added unless named", arguments: [
        ("http://g:9091", "box1", "/metrics/job/airun/instance/box1"),
        ("http://g:9091/", "", "/metrics/job/airun"),
        ("http://g:9091/gw/", "box1", "/gw/metrics/job/airun/instance/box1"),
        ("http://g:9091/metrics/job/nightly", "box1", "/metrics/job/nightly/instance/box1"),
        ("http://g:9091/metrics/job/nightly/", "box1", "/metrics/job/nightly/instance/box1"),
        ("http://g:9091/gw/metrics/job/nightly/team/ml", "box1", "/gw/metrics/job/nightly/team/ml/instance/box1"),
        ("http://g:9091/metrics/job/nightly/instance/rack7", "box1", "/metrics/job/nightly/instance/rack7"),
        ("http://g:9091/metrics/job/instance", "box1", "/metrics/job/instance/instance/box1"),
        ("http://g:9091/metrics/job/nightly/instance@base64/cmFjay83", "box1", "/metrics/job/nightly/instance@base64/cmFjay83"),
        ("http://g:9091/metrics/job/nightly", "a/b", "/metrics/job/nightly"),
    ])
    func pushgatewayGroups(url: String, host: String, path: String) throws {
        let base = try HTTPEndpoint.parse(url, defaultPort: 9091).get()
        #expect(try base.pushgatewayGroup(instance: host).get().path == path)
    }

    @Test("a Pushgateway URL with an empty job or a label without a value is refused where it is read", arguments: [
        ("http://g:9091/metrics/job/", "job after /metrics/job/ is empty"),
        ("http://g:9091/metrics/job//instance/x", "job after /metrics/job/ is empty"),
        ("http://g:9091/metrics/job/nightly/team", "label 'team' after the job has no value"),
        ("http://g:9091/metrics/job/nightly//x/y", "an empty label name or value"),
    ])
    func pushgatewayBadGroups(url: String, problem: String) throws {
        var settings = ExportSettings()
        let warnings = settings.applyEnvironment(["AIRUN_PUSHGATEWAY_URL": url])
        #expect(settings.pushgateway == nil)
        #expect(warnings.count == 1 && warnings[0].contains(problem), "\(warnings)")
        let toml = try parseTOML("pushgateway = \"\(url)\"\n")
        #expect(throws: ProfileError.self) { try ExportSettings.decode(toml, file: "config.toml") }
    }

    @Test("OTEL variables: per-signal endpoints, headers, resource attributes, SDK disabled")
    func otelEnvironment() {
        var s = ExportSettings()
        var warnings = s.applyEnvironment(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l:1/custom",
                                           "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%2Cb, x=y", "OTEL_RESOURCE_ATTRIBUTES": "service.name=svc,team=ml",
                                           "AIRUN_TEXTFILE_DIR": "/tf"])
        #expect(warnings.isEmpty)
        #expect(s.traces?.description == "http://c:4318/v1/traces")
        #expect(s.logs?.description == "http://l:1/custom")
        #expect(s.headers.map { "\($0.name)=\($0.value)" } == ["api-key=a,b", "x=y"])
        #expect(s.serviceName == "svc")
        #expect(s.textfileDirectory == "/tf")
        _ = s.applyEnvironment(["OTEL_SERVICE_NAME": "named"])
        #expect(s.serviceName == "named", "OTEL_SERVICE_NAME wins over service.name in the attributes")
        var bad = ExportSettings()
        warnings = bad.applyEnvironment(["OTEL_RESOURCE_ATTRIBUTES": "ok=1,broken", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://x"])
        #expect(bad.resourceAttributes.isEmpty, "a malformed list is discarded whole")
        #expect(warnings.count == 2 && bad.traces == nil)
        var off = ExportSettings()
        _ = off.applyEnvironment(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_SDK_DISABLED": "true"])
        #expect(!off.otlpEnabled)
    }

    @Test("config.toml [export] is read, and its mistakes name the line")
    func configFile() throws {
        let config = try ConfigFile.decode("[log]\nretain_days = 3\n[export]\ntextfile_dir = \"/tf\"\npushgateway = \"http://pg:9091\"\n", file: "c.toml")
        #expect(config.log.retainDays == 3)
        #expect(config.export.textfileDirectory == "/tf")
        #expect(config.export.pushgateway?.port == 9091)
        #expect(throws: ProfileError.self) { try ConfigFile.decode("[export]\notlp_endpoint = \"https://x\"\n", file: "c.toml") }
        do {
            _ = try ConfigFile.decode("[export]\ntextfile = \"/x\"\n", file: "c.toml")
            Issue.record("an unknown key was accepted")
        } catch {
            #expect(error.description.contains("c.toml:2") && error.description.contains("textfile_dir"))
        }
    }
}
