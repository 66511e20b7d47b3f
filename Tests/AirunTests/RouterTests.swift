import Foundation
import Testing

/// The router's side (examples/router, docs/integration.md): the command's JSON log lines as
/// child.log records, the demo's one trace with the real llama.cpp, and the docs' DuckDB query.
@Suite("Router integration", .offPool)
struct RouterTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("JSON stderr lines become child.log records; stderr passes through byte for byte")
    func childLogs() throws {
        let s = Scratch()
        let profile = s.write("router.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let key = "sk-proj-" + String(repeating: "Zq7Wx", count: 8)
        // A line split over two writes, plain text, a JSON value without a message, an overlong
        // line, and a last line without its newline.
        let script = """
            printf '{"level":"INFO","logger":"router","message":"routing","model":"m1","n":3,"key":"\(key)"}\\n' >&2
            printf '{"level":"WARNING","message":"split ' >&2; sleep 0.05; printf 'line"}\\nplain text\\n[1,2]\\n{"no_message":1}\\n' >&2
            head -c 70000 /dev/zero | tr '\\0' 'x' | sed 's/^/{"message":"/; s/$/"}/' >&2; printf '\\n' >&2
            printf '{"level":"error","message":"last, no newline"}' >&2
            echo out
            """
        let bare = try airun(["-q", "--retries", "1", "--", "sh", "-c", script], scratch: Scratch())
        let result = try airun(["-q", "--profile", profile, "--", "sh", "-c", script], scratch: s)
        #expect(result.exitCode == 0)
        #expect(result.stdoutText == "out\n")
        #expect(result.stderr == bare.stderr, "stderr must pass through unchanged")
        #expect(result.stderr.contains("split line\"}\nplain text\n"))
        let logs = result.records("child.log")
        #expect(logs.map { $0["message"] as? String } == ["routing", "split line", "last, no newline"])
        #expect(logs.map { $0["level"] as? String } == ["INFO", "WARN", "ERROR"])
        #expect(logs.first?["child_logger"] as? String == "router")
        let fields = logs.first?["fields"] as? [String: Any]
        #expect(fields?["model"] as? String == "m1" && fields?["n"] as? Int == 3)
        let attempt = try #require(result.records("attempt.end").first)
        #expect(logs.allSatisfy { $0["span_id"] as? String == attempt["span_id"] as? String })
        let raw = try FileManager.default.contentsOfDirectory(atPath: result.logDirectory).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: result.logDirectory + "/" + $0, encoding: .utf8) }.joined()
        #expect(!raw.contains(key), "the key a child logged reached a record")
        #expect(raw.contains("***OPENAI_KEY_REDACTED***"))

        let plain = try airun(["--", "sh", "-c", script], scratch: Scratch())
        #expect(plain.records("child.log").isEmpty, "only a profile that says so reads stderr as logs")
    }

    @Test("values under secret-named keys of JSON log lines are masked in records and trace; what names sizes stays")
    func secretKeys() throws {
        let s = Scratch()
        let profile = s.write("router.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let secrets = ["Tr0ub4dor-horse-battery", "zq8Hk2LmN4pR7sT1vW3x", "tok-Aa1Bb2Cc3Dd4", "s3cr3t-value-9", "cs-77ab-99cd",
                       "xak-Qw3Er5Ty7", "nested-Pw-4242", "numeric"]
        let line = #"{"message":"login","password":"\#(secrets[0])","api_key":"\#(secrets[1])","token":"\#(secrets[2])","#
            + #""secret":"\#(secrets[3])","client_secret":"\#(secrets[4])","X-Api-Key":"\#(secrets[5])","#
            + #""auth":{"user":"ana","password":"\#(secrets[6])"},"apiKey":123456789,"token_count":42,"model":"m1","tokenizer_name":"gpt2"}"#
        let r = try airun(["-q", "--profile", profile, "--", "sh", "-c", "printf '%s\\n' '\(line)' >&2"], scratch: s)
        #expect(r.exitCode == 0 && r.stderr.contains(secrets[0]), "stderr passes through unchanged")
        let raw = try FileManager.default.contentsOfDirectory(atPath: r.logDirectory).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: r.logDirectory + "/" + $0, encoding: .utf8) }.joined()
        for secret in secrets.dropLast() { #expect(!raw.contains(secret), "\(secret) reached a record") }
        let fields = try #require(r.records("child.log").first?["fields"] as? [String: Any])
        #expect(fields["password"] as? String == "***PASSWORD_REDACTED***" && fields["X-Api-Key"] as? String == "***API_KEY_REDACTED***")
        #expect(fields["apiKey"] as? String == "***API_KEY_REDACTED***", "a number under a secret-named key")
        #expect(fields["token_count"] as? Int == 42 && fields["model"] as? String == "m1" && fields["tokenizer_name"] as? String == "gpt2")
        let trace = try airun(["trace", try #require(r.records.first?["trace_id"] as? String), "--log-dir", r.logDirectory], scratch: s)
        for secret in secrets.dropLast() { #expect(!trace.stdoutText.contains(secret), "\(secret) in airun trace") }
    }

    @Test("The demo: one trace from the router's request to the fallback's tokens", Requirement.llamaTrait)
    func demo() throws {
        let s = Scratch()
        let key = "sk-proj-" + String(repeating: "Rt5Yu", count: 8)
        var env = Airun.environment(logDirectory: s.file("logs"), extra: ["AIRUN_LLAMA_DIR": Llama.directory, "ROUTER_UPSTREAM_KEY": key])
        env["AIRUN_PROFILE_PATH"] = nil
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.root + "/examples/router/run-demo.sh")
        p.arguments = ["Hello"]
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        let traceID = try #require(text.split(separator: "\n").last.map(String.init))
        #expect(traceID.count == 32)

        let json = try airun(["trace", traceID, "--json", "--log-dir", s.file("logs")], scratch: Scratch())
        let tree = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let roots = try #require(tree["runs"] as? [[String: Any]])
        #expect(roots.count == 1, "one tree")
        let router = try #require(roots.first)
        #expect((router["command_args"] as? [String])?.contains { $0.hasSuffix("ai-router.py") } == true)
        let routerAttempt = try #require((router["attempts"] as? [[String: Any]])?.first)
        let logs = (routerAttempt["logs"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
        #expect(logs.contains("request received") && logs.contains("running model") && logs.contains("answer ready"), "\(logs)")
        // The answer's log line names the model that answered (the fallback), not the one asked for.
        let ready = (routerAttempt["logs"] as? [[String: Any]] ?? []).first { $0["message"] as? String == "answer ready" }
        let readyFields = ready?["fields"] as? [String: Any]
        #expect(readyFields?["model"] as? String == "tiny" && readyFields?["asked"] as? String == "big", "\(ready ?? [:])")
        let nested = try #require((routerAttempt["runs"] as? [[String: Any]])?.first)
        #expect((nested["command_args"] as? [String])?.first == "llama-completion")
        let attempts = nested["attempts"] as? [[String: Any]] ?? []
        #expect(attempts.count == 2)
        #expect(attempts.first?["error_code"] as? String == "MODEL_NOT_FOUND")
        #expect(attempts.last?["status"] as? String == "succeeded")
        #expect(nested["exit_code"] as? Int == 0 && router["exit_code"] as? Int == 0)

        // The text tree: the router's lines and its nested run in the order they happened.
        let lines = text.split(separator: "\n").map(String.init)
        let order = ["log +", "INFO request received", "run ", "llama-completion", "MODEL_NOT_FOUND", "succeeded", "INFO answer ready"]
        var from = lines.firstIndex { $0.hasPrefix("run ") && $0.contains("ai-router.py") } ?? lines.endIndex
        for needle in order {
            guard let i = lines[from...].firstIndex(where: { $0.contains(needle) }) else {
                Issue.record("'\(needle)' missing or out of order in:\n\(text)")
                break
            }
            from = i
        }
        let records = try FileManager.default.contentsOfDirectory(atPath: s.file("logs")).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: s.file("logs/\($0)"), encoding: .utf8) }.joined()
        #expect(records.contains("upstream configured with key"), "the router's line about its key was recorded")
        #expect(!records.contains(key), "a secret the router logged reached a record")
    }

    /// Python with duckdb; required with AIRUN_REQUIRE_DUCKDB=1.
    static let duckdbAvailable = runTool(["python3", "-c", "import duckdb"]).status == 0
    static var duckdbTrait: ConditionTrait {
        .enabled(if: duckdbAvailable || Requirement.required("AIRUN_REQUIRE_DUCKDB"), "duckdb is not installed (pip install duckdb)")
    }

    @Test("The DuckDB query of docs/integration.md runs on airun's records", duckdbTrait)
    func duckdbQuery() throws {
        let s = Scratch()
        for (model, code) in [("alpha", 0), ("alpha", 0), ("alpha", 1), ("beta", 0)] {
            _ = try airun(["--retries", "1", "--model-id", model, "--", "sh", "-c", "exit \(code)"], scratch: s)
        }
        let doc = try String(contentsOfFile: Self.root + "/docs/integration.md", encoding: .utf8)
        let start = try #require(doc.range(of: "```sql\n"))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let sql = String(doc[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "~/.local/state/airun/logs", with: s.file("logs"))
        let script = "import duckdb, json, sys\nprint(json.dumps(duckdb.sql(sys.stdin.read()).fetchall()))"
        let run = runTool(["python3", "-c", script], stdin: sql)
        #expect(run.status == 0, "\(run.output)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[Any]])
        #expect(rows.count == 2)
        #expect(rows.first?[0] as? String == "alpha" && rows.first?[1] as? Int == 3)
        #expect(rows.first?[2] as? Double == 66.7)
        #expect(rows.first?[4] as? String == "NONZERO_EXIT")
        #expect(rows.last?[0] as? String == "beta" && rows.last?[2] as? Double == 100)
    }
}
