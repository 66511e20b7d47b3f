@testable import AirunCore
import Foundation
import Testing

/// The conventions airun speaks (issue 26), each checked against the text it follows:
/// - GenAI: open-telemetry/semantic-conventions-genai, docs/gen-ai/gen-ai-spans.md (inference
///   span) and gen-ai-metrics.md (client metrics), status Development, shared attributes from
///   semantic-conventions v1.41.1;
/// - process: semantic-conventions v1.41.1, registry/attributes/process.md;
/// - OTLP 1.x JSON (opentelemetry-proto, validated by Tests/tools/otlp_receiver.py);
/// - trace context in the environment: opentelemetry-specification context/env-carriers.md and
///   W3C Trace Context level 1.
@Suite("conventions", .serialized, .timeLimit(.minutes(3)), .offPool)
struct ConventionsTests {
    /// Attribute name → the OTLP value type the conventions give it.
    static let attributeTypes: [(String, String)] = [
        ("gen_ai.operation.name", "stringValue"), ("gen_ai.provider.name", "stringValue"),
        ("gen_ai.request.model", "stringValue"), ("gen_ai.response.model", "stringValue"),
        ("gen_ai.request.max_tokens", "intValue"), ("gen_ai.request.temperature", "doubleValue"),
        ("gen_ai.request.top_p", "doubleValue"), ("gen_ai.request.top_k", "doubleValue"), ("gen_ai.request.seed", "intValue"),
        ("gen_ai.request.stream", "boolValue"), ("gen_ai.response.time_to_first_chunk", "doubleValue"),
        ("gen_ai.usage.input_tokens", "intValue"), ("gen_ai.usage.output_tokens", "intValue"),
        ("process.executable.name", "stringValue"), ("process.executable.path", "stringValue"), ("process.pid", "intValue"),
        ("process.parent_pid", "intValue"), ("process.exit.code", "intValue"), ("process.command_args", "arrayValue"),
        ("process.owner", "stringValue"), ("process.working_directory", "stringValue"),
    ]

    @Test("a llama.cpp command's request, from its arguments and LLAMA_ARG_* (a flag wins), never guessed", arguments: [
        (["llama-completion", "-m", "m.gguf", "-p", "hi", "-n", "64", "--temp", "0.7", "--top-p=0.9", "--top-k", "40", "-s", "42", "-no-cnv"], [:],
         GenAIRequest(operation: "text_completion", maxTokens: 64, temperature: 0.7, topP: 0.9, topK: 40, seed: 42)),
        (["/opt/llama/bin/llama-cli", "-m", "m.gguf", "--temperature", "0"], ["LLAMA_ARG_N_PREDICT": "128", "LLAMA_ARG_TOP_K": "5"],
         GenAIRequest(operation: "chat", maxTokens: 128, temperature: 0, topK: 5)),
        (["prlimit", "--as=3000000000", "llama-completion", "-cnv", "-n", "-1", "-s", "4294967295"], ["LLAMA_ARG_N_PREDICT": "9"],
         GenAIRequest(operation: "chat")),
        (["llama-completion", "-n", "99999999999999999999999", "--temp", "nan", "--top-p", "inf", "--top-k"], [:],
         GenAIRequest(operation: "text_completion")),
        (["llama-completion", "-n", "8", "-n", "16"], ["LLAMA_ARG_N_PREDICT": "32"], GenAIRequest(operation: "text_completion", maxTokens: 16)),
    ] as [([String], [String: String], GenAIRequest)])
    func request(command: [String], environment: [String: String], expected: GenAIRequest) {
        #expect(GenAIRequest.llama(command, environment: environment) == expected)
    }

    @Test("not a llama.cpp generation: no GenAI request (llama-server serves many; python3 is a router)")
    func notAGeneration() {
        #expect(GenAIRequest.llama(["llama-server", "-m", "m.gguf"], environment: [:]) == nil)
        #expect(GenAIRequest.llama(["python3", "ai-router.py", "-n", "5"], environment: [:]) == nil)
        #expect(GenAIRequest.llama([], environment: [:]) == nil)
    }

    @Test("OTEL_SEMCONV_STABILITY_OPT_IN: gen_ai_latest_experimental among the values, nothing else")
    func optIn() {
        #expect(GenAIRequest.latestExperimental(["OTEL_SEMCONV_STABILITY_OPT_IN": "http, gen_ai_latest_experimental"]))
        #expect(!GenAIRequest.latestExperimental(["OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest"]))
        #expect(!GenAIRequest.latestExperimental([:]))
    }

    @Test("TRACEPARENT as W3C says: lowercase hex in every field", arguments: [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", false),
        ("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", true),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false),
    ])
    func traceparentCase(header: String, valid: Bool) {
        if case .success = TraceParent.parse(header) { #expect(valid) } else { #expect(!valid) }
    }

    @Test("TRACESTATE goes to the child only with the TRACEPARENT it came with; BAGGAGE always", arguments: [
        (["TRACEPARENT": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], true),
        (["TRACEPARENT": "00-zzzz-00f067aa0ba902b7-01"], false),
        (["TRACE_ID": "session-abc"], false),
        ([:], false),
    ] as [([String: String], Bool)])
    func traceState(environment: [String: String], kept: Bool) throws {
        var env = environment
        env["TRACESTATE"] = "rojo=00f067aa0ba902b7"
        env["BAGGAGE"] = "userId=alice"
        let r = try airun(["-q", "--", "sh", "-c", "echo \"${TRACESTATE-unset}|$BAGGAGE\""], environment: env)
        #expect(r.stdoutText == (kept ? "rojo=00f067aa0ba902b7" : "unset") + "|userId=alice\n", "\(r.stdoutText)")
    }

    /// The spans and metrics a receiver got, by path.
    static func bodies(_ got: [[String: Any]], _ path: String) -> [[String: Any]] {
        got.filter { $0["path"] as? String == path }.compactMap { $0["body"] as? [String: Any] }
    }

    static func attributes(_ object: [String: Any]) -> [String: [String: Any]] {
        (object["attributes"] as? [[String: Any]] ?? []).reduce(into: [:]) { $0[$1["key"] as! String] = $1["value"] as? [String: Any] }
    }

    static func metrics(_ got: [[String: Any]]) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for body in bodies(got, "/v1/metrics") {
            for rm in body["resourceMetrics"] as? [[String: Any]] ?? [] {
                for sm in rm["scopeMetrics"] as? [[String: Any]] ?? [] {
                    for m in sm["metrics"] as? [[String: Any]] ?? [] { out[m["name"] as! String] = m }
                }
            }
        }
        return out
    }

    @Test("OTLP metrics: each run's share of the Prometheus set as delta sums and histograms, valid against the protos",
          Requirement.otlpTrait)
    func otlpMetrics() throws {
        let s = Scratch()
        let receiver = try ExportTests.Receiver(s)
        let profile = quickProfile(s, attempts: 2)
        _ = try airun(["--otlp", receiver.url, "--profile", profile, "--", "sh", "-c", "exit 3"], scratch: s)
        let got = receiver.received
        for entry in got { #expect(entry["valid"] as? Bool == true, "\(entry["error"] ?? "")") }
        let metrics = Self.metrics(got)
        let runs = try #require(metrics["airun.runs"]?["sum"] as? [String: Any], "\(metrics.keys.sorted())")
        #expect(runs["aggregationTemporality"] as? Int == 1 && runs["isMonotonic"] as? Bool == true)
        let point = try #require((runs["dataPoints"] as? [[String: Any]])?.first)
        #expect(point["asInt"] as? String == "1")
        let attrs = Self.attributes(point)
        #expect(attrs["airun.command"]?["stringValue"] as? String == "sh" && attrs["error.type"]?["stringValue"] as? String == "NONZERO_EXIT")
        #expect(attrs["gen_ai.request.model"] == nil, "an empty label is no attribute")
        let attempts = try #require((metrics["airun.attempts"]?["sum"] as? [String: Any])?["dataPoints"] as? [[String: Any]])
        #expect(attempts.compactMap { $0["asInt"] as? String }.compactMap { Int($0) }.reduce(0, +) == 2)
        let duration = try #require(metrics["airun.attempt.duration"])
        #expect(duration["unit"] as? String == "s")
        #expect(((duration["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]])?.first?["count"] as? String == "2")
        #expect(metrics["gen_ai.client.operation.duration"] == nil, "sh is no model command")
        for name in Metrics.families.map(\.name) { #expect(OTLPPayloads.metricNames[name] != nil, "\(name) has no OpenTelemetry name") }

        // OTEL_METRICS_EXPORTER=none: no metrics, the other signals still go.
        let quiet = try ExportTests.Receiver(s)
        _ = try airun(["--", "sh", "-c", "exit 3"], environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": quiet.url, "OTEL_METRICS_EXPORTER": "none"],
                      scratch: s)
        #expect(quiet.received.map { $0["path"] as? String ?? "" }.sorted() == ["/v1/logs", "/v1/traces"])
    }

    @Test("a real llama.cpp run: GenAI and process attributes on its spans, of the conventions' names and types; GenAI client metrics",
          Requirement.llamaTrait, Requirement.otlpTrait)
    func llamaConventions() throws {
        let s = Scratch()
        let receiver = try ExportTests.Receiver(s)
        let command = [Llama.completion, "-m", Llama.model, "-p", "hello", "-n", "8", "--temp", "0.5", "--top-p", "0.9", "--top-k", "20",
                       "-s", "42", "-no-cnv", "--no-warmup", "--perf", "-t", "2"]
        let r = try airun(["--otlp", receiver.url, "--"] + command, environment: ["OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"],
                          scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr.suffix(500))")
        // On a loaded machine airun's 180 ms export budget can end while the receiver is still
        // validating a payload (airun spools it then): the receiver writes it down afterwards.
        _ = eventually(within: 15) { receiver.received.contains { $0["path"] as? String == "/v1/metrics" } }
        let got = receiver.received
        for entry in got { #expect(entry["valid"] as? Bool == true, "\(entry["error"] ?? "")") }
        let spans = ExportTests.spans(got)
        let attempt = try #require(spans.first { ($0["kind"] as? Int) == 3 }, "\(spans)")
        #expect(attempt["name"] as? String == "text_completion tiny", "the latest conventions' span name, as opted in")
        let attrs = Self.attributes(attempt)
        // llama.cpp writes through a logging thread that exit can cut short: now and then its
        // figures, and even every byte of its stdout, are lost. What it did print decides.
        let lossy: Set = ["gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"]
        for (name, type) in Self.attributeTypes where !lossy.contains(name) || attrs[name] != nil {
            if name == "gen_ai.response.time_to_first_chunk" && r.stdout.isEmpty {
                #expect(attrs[name] == nil, "no stdout, yet a first chunk: \(attrs[name] ?? [:])")
                continue
            }
            #expect(attrs[name]?[type] != nil, "\(name) is not a \(type): \(attrs[name] ?? [:])")
        }
        #expect(attrs["gen_ai.operation.name"]?["stringValue"] as? String == "text_completion")
        #expect(attrs["gen_ai.provider.name"]?["stringValue"] as? String == "llama.cpp")
        #expect(attrs["gen_ai.request.max_tokens"]?["intValue"] as? String == "8")
        #expect(attrs["gen_ai.request.temperature"]?["doubleValue"] as? Double == 0.5)
        #expect(attrs["gen_ai.request.top_k"]?["doubleValue"] as? Double == 20)
        #expect(attrs["gen_ai.request.seed"]?["intValue"] as? String == "42")
        #expect(attrs["gen_ai.response.model"]?["stringValue"] as? String == "tiny")
        let run = try #require(spans.first { ($0["kind"] as? Int) == 1 })
        #expect(Self.attributes(run)["gen_ai.response.model"]?["stringValue"] as? String == "tiny")
        #expect(Self.attributes(run)["process.working_directory"]?["stringValue"] != nil)

        let metrics = Self.metrics(got)
        let duration = try #require(metrics["gen_ai.client.operation.duration"], "\(metrics.keys.sorted())")
        #expect(duration["unit"] as? String == "s")
        let point = try #require(((duration["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]])?.first)
        #expect((point["explicitBounds"] as? [Double])?.first == 0.01 && (point["explicitBounds"] as? [Double])?.count == 14)
        let pointAttributes = Self.attributes(point)
        #expect(pointAttributes["gen_ai.operation.name"]?["stringValue"] as? String == "text_completion")
        #expect(pointAttributes["gen_ai.provider.name"]?["stringValue"] as? String == "llama.cpp")
        if let generated = r.records("attempt.end").first?["tokens_generated"] as? Int {
            let bodies = Self.bodies(got, "/v1/metrics")
            let usage = try #require((metrics["gen_ai.client.token.usage"]?["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]],
                                     "\(bodies.count) metrics bodies: \(bodies); stderr: \(r.stderr.suffix(300))")
            let output = usage.first { Self.attributes($0)["gen_ai.token.type"]?["stringValue"] as? String == "output" }
            #expect(output?["sum"] as? Double == Double(generated), "the record's \(generated) tokens: \(usage)")
        }
    }
}
