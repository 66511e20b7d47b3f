import Foundation
import Testing

/// End to end: fake secrets of every kind planted in a failing child's arguments, environment,
/// stdout, stderr and Python traceback never reach a file airun writes, nor airun's own lines;
/// and an independent scanner (detect-secrets) agrees.
@Suite("secrets never leak", .serialized, .timeLimit(.minutes(3)), .offPool)
struct SecretLeakTests {
    struct Planted {
        let scratch = Scratch()
        /// The draw's seed, for failure messages: AIRUN_TEST_SEED repeats it.
        let rng: TestRandom
        let secrets: [(name: String, secret: String, text: String)]
        let openAI, github, envKey, envToken, hfArg, email: String
        /// What must stay readable.
        let ordinary = ["4bf92f3577b34da6a3ce929d0e0e4736", "123e4567-e89b-12d3-a456-426614174000",
                        "9fceb02d0ae598e95dc970b74767f19372d61af8",
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                        "qwen3-coder-30b-a3b-instruct-q4_k_m.gguf", "/srv/models/llama", "25600065536"]

        init(_ rng: TestRandom = TestRandom()) {
            self.rng = rng
            let fake = FakeSecrets(rng)
            secrets = fake.all()
            openAI = fake.openAI()
            github = fake.githubPAT()
            envKey = fake.anthropic()
            envToken = "plain-" + fake.key(20)
            hfArg = fake.huggingFace()
            email = fake.email()
        }

        var allSecrets: [String] { secrets.map(\.secret) + [openAI, github, envKey, envToken, hfArg] }

        /// A Python child that prints every planted text, echoes its secret environment and
        /// arguments, and dies of an exception whose message holds a key.
        func script() -> String {
            let out = secrets.prefix(12).map { $0.text }
            let err = secrets.dropFirst(12).map { $0.text }
            return """
                import os, sys
                for line in \(pythonList(out)): print(line)
                print("env:", os.environ["SERVICE_API_KEY"], os.environ["MY_TOKEN"])
                print("argv:", " ".join(sys.argv[1:]))
                print("ids:", \(pythonList(ordinary)))
                for line in \(pythonList(err)): print(line, file=sys.stderr)
                def connect(key):
                    raise PermissionError("rejected key " + key + " for " + "\(email)")
                connect("\(openAI)")
                """
        }

        func pythonList(_ items: [String]) -> String {
            "[" + items.map { "'''" + $0 + "'''" }.joined(separator: ", ") + "]"
        }
    }

    private func filesUnder(_ directory: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: directory)
        var out: [String] = []
        while let f = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + f, isDirectory: &isDir), !isDir.boolValue { out.append(directory + "/" + f) }
        }
        return out
    }

    private func runPlanted(_ p: Planted) throws -> AirunResult {
        let script = p.scratch.write("child.py", Array(p.script().utf8))
        return try airun(["--capture-dir", p.scratch.file("logs/capture"), "--", "python3", script,
                          "--api-key", p.github, "--hf-token=\(p.hfArg)", "--model", "/srv/models/llama/qwen3-coder-30b-a3b-instruct-q4_k_m.gguf"],
                         environment: ["SERVICE_API_KEY": p.envKey, "MY_TOKEN": p.envToken], scratch: p.scratch)
    }

    @Test("no planted secret in any file under the log dir or in airun's lines; identifiers stay")
    func nothingLeaks() throws {
        let p = Planted()
        let r = try runPlanted(p)
        #expect(r.exitCode == 1)
        // The child's own output passes through untouched: the secrets really were printed.
        #expect(r.stdoutText.contains(p.envKey) && r.stderr.contains(p.openAI))
        let files = filesUnder(r.logDirectory)
        #expect(files.count >= 3, "records and two capture files: \(files)")
        var everything = ""
        for f in files {
            let text = try String(contentsOfFile: f, encoding: .utf8)
            everything += text
            for s in p.allSecrets { #expect(!text.contains(s), "\(f) leaks \(s.prefix(12))…, \(p.rng)") }
            // Inside JSON the newlines of a key block are escaped; look for its body lines too.
            for line in p.secrets.first(where: { $0.name == "private-key" })!.secret.split(separator: "\n").dropFirst().dropLast() {
                #expect(!text.contains(line), "\(f) leaks a private key line")
            }
        }
        let airunLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("airun:") }
        #expect(!airunLines.isEmpty)
        for line in airunLines { for s in p.allSecrets { #expect(!line.contains(s), "\(p.rng)") } }
        for id in p.ordinary { #expect(everything.contains(id), "\(id) was masked") }
        let error = try #require(r.records("error").first)
        #expect(error["exception_type"] as? String == "PermissionError")
        #expect(everything.contains("***OPENAI_KEY_REDACTED***"))
        #expect(everything.contains("***SERVICE_API_KEY_REDACTED***") || everything.contains("***ANTHROPIC_KEY_REDACTED***"))
    }

    @Test("a profile's redaction patterns and allow-list apply to the records")
    func profileRedaction() throws {
        let s = Scratch()
        let profile = s.write("p.toml", Array("""
            [redaction]
            allow = ["AKIAIOSFODNN7EXAMPLE"]
            personal_data = false
            [[redaction.pattern]]
            regex = 'TICKET-[0-9]{6}'
            kind = "TICKET"
            """.utf8))
        let r = try airun(["-q", "--profile", profile, "--", "sh", "-c",
                           "echo 'TICKET-123456 AKIAIOSFODNN7EXAMPLE bob@example.com AKIAZZZZZZZZZZZZZZZZ'; exit 1"], scratch: s)
        let tail = try #require(r.records("error").first?["stdout"] as? String)
        #expect(tail == "***TICKET_REDACTED*** AKIAIOSFODNN7EXAMPLE bob@example.com ***AWS_ACCESS_KEY_REDACTED***\n")
    }

    @Test("detect-secrets finds nothing in the log dir, and does find the same text unredacted", Requirement.detectSecretsTrait)
    func independentScanner() throws {
        let scanner = try #require(Requirement.which("detect-secrets"), "detect-secrets is not installed (pip install detect-secrets)")
        let p = Planted()
        let r = try runPlanted(p)
        #expect(try findings(scanner, in: r.logDirectory) == 0, "detect-secrets found secrets in airun's logs, \(p.rng)")
        // The control: the child's raw output, written where airun would have written it.
        let raw = p.scratch.file("raw")
        try FileManager.default.createDirectory(atPath: raw, withIntermediateDirectories: true)
        try (r.stdoutText + r.stderr).write(toFile: raw + "/unredacted.jsonl", atomically: true, encoding: .utf8)
        #expect(try findings(scanner, in: raw) > 0, "the control must be flagged, or this check proves nothing")
    }

    /// How many secrets detect-secrets reports under `directory`.
    private func findings(_ scanner: String, in directory: String) throws -> Int {
        let s = Scratch()
        let r = try AirunProcess.start(["-q", "--log-dir", s.file("scanner-logs"), "--", "sh", "-c", "cd '\(directory)' && '\(scanner)' scan --all-files ."],
                                       scratch: s).wait()
        #expect(r.exitCode == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any]
        let results = json?["results"] as? [String: [Any]] ?? [:]
        return results.values.reduce(0) { $0 + $1.count }
    }
}
