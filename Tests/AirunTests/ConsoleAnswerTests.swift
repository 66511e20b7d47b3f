@testable import AirunCore
import Foundation
import Testing

/// The 30-second answer (issue 23): a failed run's console names the model, the code, the line
/// that proves it and what to do; nested runs' lines tell apart, and an outer run names its own cause.
@Suite("the console's answer", .timeLimit(.minutes(2)), .offPool)
struct ConsoleAnswerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var toy: String { root.appendingPathComponent("examples/toy-model.sh").path }

    @Test("docs/errors.md's 'What to do' table is the hint of every code, word for word")
    func hintsDocumented() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## What to do").dropFirst().first?.components(separatedBy: "\n## ").first)
        var documented: [String: String] = [:]
        for m in section.matches(of: /\n\| `([A-Z_]+)` \| ([^\n]*) \|/) { documented[String(m.1)] = String(m.2) }
        for code in ErrorCode.allCases {
            #expect(documented[code.rawValue] == code.hint, "\(code.rawValue): docs say \(documented[code.rawValue] ?? "nothing")")
        }
        #expect(documented.count == ErrorCode.allCases.count)
    }

    @Test("a nested run's summary line is recognised; anything else is not", arguments: [
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1 MODEL_NOT_FOUND model=x 0.01s", NestedRunSummary(depth: 0, exitCode: 1)),
        ("airun[2]: trace=4BF92F3577B34DA6A3CE929D0E0E4736 exit=137 (SIGKILL) OOM_KILLED 3.00s", NestedRunSummary(depth: 2, exitCode: 137)),
        ("airun[1]: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=0 64 tok 1.00s", NestedRunSummary(depth: 1, exitCode: 0)),
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e473 exit=1", nil),  // 31 digits
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e4736x exit=1", nil),
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=", nil),
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=256", nil),
        ("airun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=99999999999999999999", nil),
        ("airun[]: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1", nil),
        ("airun[123]: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1", nil),
        ("airun[1: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1", nil),
        ("xairun: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1", nil),
        ("airun: retrying in 1.0 s", nil),
        ("airun", nil), ("", nil),
    ] as [(String, NestedRunSummary?)])
    func summaryLine(line: String, expected: NestedRunSummary?) {
        #expect(NestedRunSummary(line: line[...]) == expected)
    }

    static let nested = """
        0.00.001.030 E gguf_init_from_file: failed to open GGUF file 'toy-model.gguf' (No such file or directory)
        airun[1]: trace=4bf92f3577b34da6a3ce929d0e0e4736 exit=1 MODEL_NOT_FOUND model=toy 0.01s
        airun[1]:   evidence: gguf_init_from_file: failed to open GGUF file 'toy-model.gguf' (No such file or directory)
        airun[1]:   hint: check the path given to -m (ls it), or download the model

        """

    @Test("an outer run that ends otherwise than its nested run is explained by its own output or status, not the nested run's line")
    func outerOwnCause() throws {
        let other = try #require(Classifier().classify(AttemptFacts(exitCode: 3, stdout: "Error: failed to open GGUF file", stderr: Self.nested)))
        #expect(other.code == .nonzeroExit && other.evidence == "exit status 3")
        let own = try #require(Classifier().classify(AttemptFacts(exitCode: 3, stderr: Self.nested + "Traceback (most recent call last):\n  File \"r.py\", line 1\nValueError: bad\n")))
        #expect(own.code == .pythonException && own.evidence == "ValueError: bad", "\(own)")
        let killed = try #require(Classifier().classify(AttemptFacts(exitCode: nil, signal: .kill, stderr: Self.nested)))
        #expect(killed.code == .killedBySignal)
    }

    @Test("an outer run that ends as its nested run did has the nested run's cause")
    func outerPropagated() throws {
        let same = try #require(Classifier().classify(AttemptFacts(exitCode: 1, stderr: Self.nested)))
        #expect(same.code == .modelNotFound)
        let signalled = Self.nested.replacingOccurrences(of: "exit=1 MODEL_NOT_FOUND", with: "exit=137 (SIGKILL) MODEL_NOT_FOUND")
        #expect(Classifier().classify(AttemptFacts(exitCode: nil, signal: .kill, stderr: signalled))?.code == .modelNotFound)
        // No nested run: the output decides, as always.
        #expect(Classifier().classify(AttemptFacts(exitCode: 3, stderr: "E gguf_init_from_file: failed to open GGUF file 'x' (No such file or directory)\n"))?.code == .modelNotFound)
    }

    @Test("a failed run's console names the model, the code, the evidence and the hint; a success the model and its figures")
    func failureAnswered() throws {
        let s = Scratch()
        let model = s.write("qwen-7b.gguf", Array("version https://git-lfs.github.com/spec/v1\noid sha256:0\n".utf8))
        let r = try airun(["--", Self.toy, "--fail", "-m", model], scratch: s)
        #expect(r.exitCode == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("airun") }
        let i = try #require(lines.firstIndex { $0.hasPrefix("airun: trace=") }, "\(r.stderr)")
        #expect(lines[i].contains(" exit=1 MODEL_NOT_FOUND model=qwen-7b "), "\(lines[i])")
        let evidence = try #require(r.records("error").last?["evidence"] as? String)
        #expect(lines[i + 1] == "airun:   evidence: \(evidence)")
        #expect(lines[i + 2] == "airun:   hint: \(ErrorCode.modelNotFound.hint)")

        let ok = try airun(["--", Self.toy, "-m", model, "hi"], scratch: Scratch())
        let summary = try #require(ok.stderr.split(separator: "\n").first { $0.hasPrefix("airun: trace=") })
        #expect(summary.contains(" exit=0 12 tok 20 tok/s model=qwen-7b "), "\(summary)")
        #expect(!ok.stderr.contains("hint:"))
    }

    @Test("the evidence line is cut, not wrapped, and its secrets masked")
    func evidenceCut() throws {
        let key = "sk-" + String(repeating: "Ab3dE", count: 8)
        let long = String(repeating: "x", count: 400)
        let r = try airun(["--", "sh", "-c", "echo 'error: invalid argument: --zz \(key) \(long)' >&2; exit 2"])
        let evidence = try #require(r.stderr.split(separator: "\n").first { $0.hasPrefix("airun:   evidence: ") }, "\(r.stderr)")
        // The child's own line passes through as written; airun's lines never repeat the key.
        #expect(!r.stderr.split(separator: "\n").contains { $0.hasPrefix("airun") && $0.contains(key) })
        #expect(evidence.hasPrefix("airun:   evidence: error: invalid argument: --zz "), "\(evidence)")
        #expect(evidence.hasSuffix("x…") && evidence.unicodeScalars.count < 240, "\(evidence.unicodeScalars.count)")
    }

    @Test("a nested run prefixes its lines with its depth; the outer run that exits otherwise names its own cause")
    func nestedRuns() throws {
        let s = Scratch()
        let inner = "'\(Airun.path)' -- '\(Self.toy)' --fail; exit 3"
        let r = try airun(["--", "sh", "-c", inner], scratch: s)
        #expect(r.exitCode == 3)
        #expect(r.stderr.contains("airun[1]: trace="), "\(r.stderr)")
        #expect(r.stderr.contains("airun[1]:   hint: \(ErrorCode.modelNotFound.hint)"))
        let outer = try #require(r.stderr.split(separator: "\n").last { $0.hasPrefix("airun: trace=") })
        #expect(outer.contains(" exit=3 NONZERO_EXIT "), "\(outer)")
        let errors = r.records("error").compactMap { $0["error_code"] as? String }
        #expect(errors.sorted() == ["MODEL_NOT_FOUND", "NONZERO_EXIT"], "\(errors)")

        let same = try airun(["--", "sh", "-c", "'\(Airun.path)' -- '\(Self.toy)' --fail; exit $?"], scratch: Scratch())
        #expect(same.stderr.split(separator: "\n").last { $0.hasPrefix("airun: trace=") }?.contains(" exit=1 MODEL_NOT_FOUND ") == true,
                "\(same.stderr)")
    }

    @Test("a timeout names the limit that fired: --timeout for the attempt's, --max-time for the run's")
    func whichLimit() throws {
        let run = try airun(["--max-time", "0.3s", "--", "sleep", "5"])
        #expect(run.records("error").last?["evidence"] as? String == "airun's --max-time expired (the whole run's limit)")
        #expect(run.stderr.contains("airun:   evidence: airun's --max-time expired"), "\(run.stderr)")
        let attempt = try airun(["--timeout", "0.3s", "--max-time", "30s", "--", "sleep", "5"])
        #expect(attempt.records("error").last?["evidence"] as? String == "airun's --timeout expired")
    }

    @Test("a nested run's llama.cpp figures are its own: the outer run does not count its tokens again")
    func nestedFigures() throws {
        let s = Scratch()
        let r = try airun(["--", "sh", "-c", "'\(Airun.path)' -- '\(Self.toy)' hi"], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        let ends = r.records("attempt.end")
        #expect(ends.count == 2)
        #expect(ends.filter { $0["tokens_per_second"] as? Double != nil }.count == 1, "\(ends.map { $0["tokens_per_second"] ?? "-" })")
        let outer = try #require(r.stderr.split(separator: "\n").last { $0.hasPrefix("airun: trace=") })
        #expect(!outer.contains(" tok"), "\(outer)")
    }

    /// A real PyTorch out-of-memory on an H200 (the fixture) was told to lower `-ngl`, which a
    /// PyTorch job does not have: the rule that knows PyTorch gives its own advice, and the docs
    /// say so word for word; llama.cpp's CUDA failure keeps the code's.
    @Test("a PyTorch out-of-memory gets PyTorch's advice, llama.cpp's the code's: on the console, in classify and in the docs")
    func ruleHints() throws {
        let torchText = Fixture.text("gpu/gpu-oom-torch.txt")
        let torch = try #require(Classifier().classify(AttemptFacts(exitCode: 1, stderr: torchText)))
        #expect(torch.code == .gpuOutOfMemory && torch.rule == "torch.oom")
        #expect(torch.hint.contains("batch size") && torch.hint.contains("PYTORCH_CUDA_ALLOC_CONF") && !torch.hint.contains("-ngl"))
        let llama = Fixture.capture("llama.cpp-cuda/cuda-oom-kv")
        let cuda = try #require(Classifier().classify(AttemptFacts(exitCode: llama.exitCode, stderr: llama.stderr)))
        #expect(cuda.hint == cuda.code.hint && cuda.rule != "torch.oom")
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
            .replacingOccurrences(of: "\n", with: " ")
        #expect(docs.contains("its hint is: \(torch.hint)."), "docs/errors.md must give torch.oom's hint as is")
        let s = Scratch()
        let err = s.write("err.txt", Array(torchText.utf8))
        let classify = try airun(["classify", "--stderr", err, "--exit-code", "1"], scratch: s)
        #expect(classify.stdoutText.contains("hint:       \(torch.hint)\n"), "\(classify.stdoutText)")
        let run = try airun(["--", "sh", "-c", "cat \(err) >&2; exit 1"], scratch: s)
        #expect(run.stderr.contains("airun:   hint: \(torch.hint)\n"), "\(run.stderr)")
    }

    @Test("airun classify prints the hint, in lines and in JSON")
    func classifyHint() throws {
        let s = Scratch()
        let err = s.write("err.txt", Array("error: invalid argument: --no-such-flag\n".utf8))
        let r = try airun(["classify", "--stderr", err, "--exit-code", "1"], scratch: s)
        #expect(r.stdoutText.contains("hint:       \(ErrorCode.badArguments.hint)\n"), "\(r.stdoutText)")
        let j = try airun(["classify", "--json", "--stderr", err, "--exit-code", "1"], scratch: s)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout)) as? [String: Any])
        #expect(object["hint"] as? String == ErrorCode.badArguments.hint)
    }
}

/// Words that mean one thing (issue 23): stats counts attempts and says so; a person's Ctrl-C is
/// not a failure; `airun metrics` says where its figures come from; sums print without noise.
@Suite("words", .timeLimit(.minutes(2)), .offPool)
struct WordsTests {
    @Test("stats names attempts as attempts and keeps a person's interruptions out of the error rate")
    func interruptionsApart() throws {
        let s = Scratch()
        _ = try airun(["--", "true"], scratch: s)
        _ = try airun(["--", "sh", "-c", "exit 3"], scratch: s)
        let interrupted = try airun(["--", "sh", "-c", "kill -INT $$"], scratch: s)
        #expect(interrupted.records("error").last?["error_category"] as? String == "user")
        let text = try airun(["stats", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        #expect(text.contains("\n3 attempts, 1 failed, 1 interrupted by a person (not counted as failures): error rate 50%\n"), "\(text)")
        #expect(text.contains("\nmodel                        attempts    ok%"), "\(text)")
        #expect(!text.contains(" runs ") && !text.contains("executions"))
        let json = try airun(["stats", "--json", "--log-dir", s.file("logs")], scratch: Scratch())
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        #expect(o["attempts"] as? Int == 3 && o["failures"] as? Int == 1 && o["interrupted"] as? Int == 1)
        #expect(o["error_rate"] as? Double == 0.5)
        #expect(((o["by_command"] as? [String: Any])?["sh"] as? [String: Any])?["attempts"] as? Int == 2)
    }

    @Test("airun metrics says on its first line whether it shows the exporter's totals or counts the records")
    func metricsSource() throws {
        let s = Scratch()
        _ = try airun(["--", "sh", "-c", "sleep 0.01"], scratch: s)
        let counted = try airun(["metrics", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        #expect(counted.hasPrefix("# airun metrics: counted from the records in \(s.file("logs")) (no textfile exporter state there)\n"), "\(counted.prefix(200))")
        _ = try airun(["--", "true"], environment: ["AIRUN_TEXTFILE_DIR": s.file("textfile")], scratch: s)
        let stored = try airun(["metrics", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        #expect(stored.hasPrefix("# airun metrics: the textfile exporter's totals in \(s.file("logs"))/airun-metrics.state"), "\(stored.prefix(200))")
        let forced = try airun(["metrics", "--from-records", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        #expect(forced.hasPrefix("# airun metrics: counted from the records in \(s.file("logs"))\n"), "\(forced.prefix(200))")
        // Every sample value is a plain number of at most six decimals.
        for line in counted.split(separator: "\n") where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(Double(value) != nil && (value.split(separator: ".").dropFirst().first?.count ?? 0) <= 6, "\(line)")
        }
    }

    @Test("sample values without binary noise", arguments: [
        (0.019629999999999998, "0.01963"), (0.1 + 0.2, "0.3"), (3.0, "3"), (1e-7, "1e-07"), (123456.0000001, "123456"), (2.5e12, "2500000000000"),
        (Double.infinity, "+Inf"), (-0.0015, "-0.0015"),
    ])
    func sampleFormat(value: Double, text: String) {
        #expect(formatSample(value) == text)
    }
}

/// airun's own line never continues the child's unfinished one, wherever the two meet.
@Suite("airun's lines start their own", .timeLimit(.minutes(1)), .offPool)
struct ConsoleLineStartTests {
    @Test("a child's last line without a newline, on stderr, or on stdout merged with stderr (2>&1): the summary starts a line of its own")
    func unfinishedLine() throws {
        // The defect: llama.cpp's generated text ends without a newline, and `… 2>&1` showed ` hiairun: trace=…`.
        let merged = runTool(["bash", "-c", "'\(Airun.path)' --log-dir \"$(mktemp -d)\" -- sh -c 'printf hi' 2>&1"])
        #expect(merged.output.hasPrefix("hi\nairun: trace="), "\(merged.output)")
        let stderr = try airun(["--", "sh", "-c", "printf hi >&2"])
        #expect(stderr.stderr.hasPrefix("hi\nairun: trace="), "\(stderr.stderr)")
        // A finished line gets no extra newline; the child's bytes are never changed.
        let finished = try airun(["--", "sh", "-c", "printf 'hi\\n' >&2"])
        #expect(finished.stderr.hasPrefix("hi\nairun: trace="), "\(finished.stderr)")
        let separate = try airun(["--", "sh", "-c", "printf hi"])
        #expect(separate.stdoutText == "hi" && separate.stderr.hasPrefix("airun: trace="), "\(separate.stderr)")
    }
}

/// `airun trace` shows a command's log lines among the runs it started in the order they
/// happened, even when airun read a busy child's line late.
@Suite("trace order", .timeLimit(.minutes(1)), .offPool)
struct TraceOrderTests {
    @Test("a log line read after the nested run started, but written before it, is shown before it")
    func logBeforeNestedRun() throws {
        let s = Scratch()
        let profile = s.write("router.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let script = """
            printf '{"timestamp":"%s","level":"INFO","message":"before the nested run"}\\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" >&2
            sleep 1.1; '\(Airun.path)' -q -- true
            """
        let r = try airun(["--profile", profile, "--", "sh", "-c", script], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        // As if airun had read the line late: its record is stamped after the nested run began.
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: s.file("logs")).first { $0.hasSuffix(".jsonl") })
        let path = s.file("logs") + "/" + file
        let original = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        let late = try #require(original.last?.firstMatch(of: /"timestamp":"[^"]+"/)?.0)  // the outer run.end's time
        let lines = original.map { line in
            line.contains("\"event\":\"child.log\"") ? line.replacingOccurrences(of: #""timestamp":"[^"]+""#, with: String(late), options: .regularExpression) : line
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let text = try airun(["trace", "last", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        let rows = text.split(separator: "\n").map(String.init)
        let log = try #require(rows.firstIndex { $0.contains("log ") && $0.contains("before the nested run") }, "\(text)")
        // The outer run is the first row starting `run `; the nested one is indented under its attempt.
        let nested = try #require(rows.firstIndex { $0.hasPrefix(" ") && $0.contains("run ") && $0.contains(" true") }, "\(text)")
        #expect(log < nested, "\(text)")
    }
}
