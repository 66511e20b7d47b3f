@testable import AirunCore
import Foundation
import Testing

/// The documentation tells the truth (issue 23): every command example of README.md and docs/
/// runs (Tests/tools/doc_examples.py, in a sandbox per block, its output compared), every option
/// and variable `--help` shows is documented, and what the docs promise in words holds.
@Suite("documentation", .serialized, .timeLimit(.minutes(5)), .offPool)
struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var script: String { root.appendingPathComponent("Tests/tools/doc_examples.py").path }

    /// jq and promtool appear in the examples; CI installs both (AIRUN_REQUIRE_PROMETHEUS=1).
    static var toolsTrait: ConditionTrait {
        .enabled(if: (Requirement.which("jq") != nil && Requirement.which("promtool") != nil) || Requirement.required("AIRUN_REQUIRE_PROMETHEUS"),
                 "jq or promtool is not installed (apt-get install jq prometheus)")
    }

    /// Runs the checker; every block it reports must be ok (or not run, with its reason).
    private func examples(_ only: String) throws {
        var arguments = ["python3", Self.script, "--airun", Airun.path, "--only", only]
        if only == "llama" { arguments += ["--llama", Llama.directory] }
        let (status, output) = runTool(arguments)
        let results = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        for r in results where !["ok", "not run"].contains(r["result"] as? String ?? "") {
            Issue.record("\(r["block"] ?? "?"): \(r["result"] ?? "?")\n\(r["problem"] ?? r["why"] ?? "")")
        }
        #expect(status == 0 && results.count >= (only == "llama" ? 8 : 10), "\(results.count) blocks; \(output.suffix(800))")
    }

    @Test("the examples that need nothing but airun run as the pages show them", toolsTrait)
    func plainExamples() throws { try examples("plain") }

    @Test("the examples with llama.cpp run as the pages show them", Requirement.llamaTrait, toolsTrait)
    func llamaExamples() throws { try examples("llama") }

    @Test("every option and variable --help shows, of airun and each command, is in README.md or docs/")
    func helpDocumented() throws {
        let (status, output) = runTool(["python3", Self.script, "--airun", Airun.path, "--help-coverage"])
        #expect(status == 0, "undocumented: \(output)")
    }

    @Test("the checker compares: a wrong line, a missing option and a command that is not there fail")
    func checkerCatches() throws {
        let s = Scratch()
        let page = s.write("page.md", Array("""
            ```console
            $ airun -- sh -c 'exit 3'
            airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=4 NONZERO_EXIT 0.00s
            ```

            ```console
            $ airun --no-such-option -- true
            ```

            ```sh
            no-such-program-airun
            ```

            ```console
            $ airun -- sh -c 'exit 3'
            airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=3 NONZERO_EXIT 0.00s
            airun:   evidence: exit status 3
            ```

            """.utf8))
        let (status, output) = runTool(["python3", Self.script, "--airun", Airun.path, "--pages", page])
        let results = output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(results.map { $0["result"] as? String ?? "?" } == ["failed", "failed", "failed", "ok"], "\(output)")
        #expect(status == 1)
    }

    @Test("every folder of the two libraries is named in README.md's layout and docs/architecture.md")
    func foldersDocumented() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let architecture = try String(contentsOf: Self.root.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        for module in ["AirunCore", "AirunCLI"] {
            let dir = Self.root.appendingPathComponent("Sources/\(module)")
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
                let path = dir.appendingPathComponent(name).path
                var isDirectory: ObjCBool = false
                // ShippedProfiles is a link to profiles/, which both pages name as such.
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                      (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil else { continue }
                #expect(readme.contains("`\(name)/`"), "README.md's layout does not name \(module)/\(name)/")
                #expect(architecture.contains("`\(name)/`"), "docs/architecture.md does not name \(module)/\(name)/")
            }
        }
    }

    @Test("logs --json prints each record line as written, fields this version does not know included")
    func logsJSONAsWritten() throws {
        let s = Scratch()
        _ = try airun(["--", "sh", "-c", "exit 3"], scratch: s)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: s.file("logs")).first { $0.hasSuffix(".jsonl") })
        var text = try String(contentsOfFile: s.file("logs") + "/" + file, encoding: .utf8)
        // A record from a newer airun: a field and a nested object this one does not know.
        text = text.replacingOccurrences(of: "\"event\":\"run.end\",", with: "\"event\":\"run.end\",\"future_field\":{\"a\":[1,2]},")
        try text.write(toFile: s.file("logs") + "/" + file, atomically: true, encoding: .utf8)
        let json = try airun(["logs", "--json", "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(json.stdoutText == text, "\(json.stdoutText.suffix(300))")
        let last = try airun(["logs", "--json", "-n", "1", "--log-dir", s.file("logs")], scratch: Scratch())
        #expect(last.stdoutText.contains("\"future_field\":{\"a\":[1,2]}") && last.stdoutText.split(separator: "\n").count == 1)
    }

    @Test("a 33rd --tag key is a usage error (125), as docs/records.md says; a repeated key is not")
    func tagLimit() throws {
        let tags = (1...33).flatMap { ["--tag", "k\($0)=v"] }
        let r = try airun(tags + ["--", "true"])
        #expect(r.exitCode == 125 && r.stderr.contains("--tag k33: more than 32 tags"), "\(r.stderr)")
        let repeated = (1...40).flatMap { _ in ["--tag", "k=v"] }
        #expect(try airun(repeated + ["--", "true"]).exitCode == 0)
    }

    @Test("--fallback-model follows a model failure under ai-router too, as README and --help say")
    func routerFallback() throws {
        let r = try airun(["--dry-run", "--fallback-model", "small.gguf", "--", "python3", "ai-router.py", "--model", "big.gguf"])
        #expect(r.stdoutText.contains("MODEL_NOT_FOUND    fallback model small.gguf"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("PYTHON_EXCEPTION   nothing"))
    }

    @Test("a Python FileNotFoundError is MODEL_NOT_FOUND only for a model file or directory", arguments: [
        ("FileNotFoundError: [Errno 2] No such file or directory: '/m/qwen3-8b.gguf'", ErrorCode.modelNotFound),
        ("FileNotFoundError: [Errno 2] No such file or directory: '/srv/models/qwen3-8b'", .modelNotFound),
        ("FileNotFoundError: [Errno 2] No such file or directory: 'weights/model.safetensors'", .modelNotFound),
        ("FileNotFoundError: [Errno 2] No such file or directory: 'models.json'", .pythonException),
        ("FileNotFoundError: [Errno 2] No such file or directory: '/srv/models/config.yaml'", .pythonException),
        ("FileNotFoundError: [Errno 2] No such file or directory: 'prompt.txt'", .pythonException),
    ])
    func pythonModelPaths(line: String, code: ErrorCode) {
        let stderr = "Traceback (most recent call last):\n  File \"router.py\", line 3, in <module>\n\(line)\n"
        #expect(Classifier().classify(AttemptFacts(exitCode: 1, stderr: stderr))?.code == code)
    }
}
