import AirunSystem
import Foundation
import Testing

/// End-to-end: the built binary's output, input and exit status are the child's.
@Suite("pass-through", .timeLimit(.minutes(2)), .offPool)
struct PassThroughTests {
    /// A child that alternates stdout and stderr lines, flushing each: only one channel for both
    /// keeps their order.
    static let alternating = #"python3 -c 'import sys; [(print("out", i, flush=True), print("err", i, file=sys.stderr, flush=True)) for i in range(200)]; sys.exit(3)'"#

    /// Runs `line` in sh, bare (PREFIX empty) and under airun, with airun's records in `logs`.
    static func bareAndWrapped(_ line: (String) -> String, logs: String) -> (bare: String, wrapped: String) {
        let env = Airun.environment(logDirectory: logs).map { "\($0.key)=\($0.value)" }
        let bare = runTool(["env", "-i"] + env + ["sh", "-c", line("")]).output
        let wrapped = runTool(["env", "-i"] + env + ["sh", "-c", line("airun -q -- ")]).output
        return (bare, wrapped)
    }

    @Test("stdout and stderr on one destination keep the bare command's order: a pipe, a file opened once, a terminal",
          Requirement.scriptTrait)
    func sharedDestination() throws {
        let s = Scratch()
        let cases: [(name: String, line: (String) -> String)] = [
            ("2>&1 into a pipe", { "\($0)\(Self.alternating) 2>&1 | cat" }),
            (">> file 2>&1", { p in "f=\(s.file("once-\(p.isEmpty ? "bare" : "airun")")); : > $f; \(p)\(Self.alternating) >> $f 2>&1; cat $f" }),
            ("a terminal (script)", { "script -qec \(TerminalSession.quote($0 + Self.alternating)) /dev/null | tr -d '\\r'" }),
        ]
        for (name, line) in cases {
            let (bare, wrapped) = Self.bareAndWrapped(line, logs: s.file("logs"))
            #expect(bare.contains("out 0\nerr 0\nout 1\nerr 1\n") && bare.contains("err 199\n"), "\(name): bare \(bare.prefix(200))")
            #expect(wrapped == bare, "\(name): differs from the bare command: \(wrapped.prefix(300))")
        }
        // One merged tail, read for classification, and said so in the records.
        let ends = readRecords(in: s.file("logs")).filter { $0["event"] as? String == "attempt.end" }
        #expect(ends.count == 3 && ends.allSatisfy { $0["output_merged"] as? Bool == true && $0["stdout_bytes"] as? Int == 0 }, "\(ends)")
        let errors = readRecords(in: s.file("logs")).filter { $0["event"] as? String == "error" }
        #expect(errors.allSatisfy { ($0["stderr"] as? String ?? "").hasSuffix("out 199\nerr 199\n") }, "\(errors.map { $0["stderr"] ?? "" })")
    }

    @Test("one file opened twice (>f 2>f) stays two channels, and ends as the bare command's file")
    func fileOpenedTwice() throws {
        let s = Scratch()
        // All of stdout, a pause, then all of stderr: the two descriptions overwrite the file's
        // start in that order, with or without airun.
        let child = #"sh -c 'echo one; echo two; sleep 0.3; echo ONE >&2; echo TWO >&2'"#
        let (bare, wrapped) = Self.bareAndWrapped({ p in
            "f=\(s.file("twice-\(p.isEmpty ? "bare" : "airun")")); \(p)\(child) >$f 2>$f; cat $f" }, logs: s.file("logs"))
        #expect(bare == "ONE\nTWO\n")
        #expect(wrapped == bare)
        let end = try #require(readRecords(in: s.file("logs")).first { $0["event"] as? String == "attempt.end" })
        #expect(end["output_merged"] as? Bool == false && end["stdout_bytes"] as? Int == 8 && end["stderr_bytes"] as? Int == 8, "\(end)")
    }

    @Test("stdout, stderr and exit status are the child's; the records share one trace")
    func basicRun() throws {
        let r = try airun(["--", "sh", "-c", "printf out; printf err >&2; exit 3"])
        #expect(r.stdoutText == "out")
        #expect(r.stderr.hasPrefix("err"))
        #expect(r.exitCode == 3)
        let events = r.records.compactMap { $0["event"] as? String }
        #expect(events == ["run.start", "attempt.start", "attempt.end", "error", "run.end"])
        #expect(r.records("error").first?["error_code"] as? String == "NONZERO_EXIT")
        let traces = Set(r.records.compactMap { $0["trace_id"] as? String })
        #expect(traces.count == 1)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["return_code"] as? Int == 3)
        // A failed attempt's tails are stored once, in its error record.
        let error = try #require(r.records("error").first)
        #expect(error["stdout"] as? String == "out")
        #expect(error["stderr"] as? String == "err")
        #expect(end["stdout_tail"] == nil && end["stderr_tail"] == nil)
        #expect(end["timed_out"] as? Bool == false)
        #expect(end["signal"] is NSNull)
        #expect(r.stderr.contains("airun: trace=\(traces.first!) exit=3 NONZERO_EXIT"))
    }

    @Test("20 MB of random bytes pass through cat unchanged")
    func randomBytes() throws {
        let s = Scratch()
        let urandom = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        let bytes = [UInt8](urandom.readData(ofLength: 20 << 20))
        #expect(bytes.count == 20 << 20)
        let input = s.write("in", bytes)
        let r = try airun(["-q", "--", "cat", input], scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.stdout == bytes)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["stdout_bytes"] as? Int == bytes.count)
        // The tail is bounded by --capture-bytes' default, whatever the child prints.
        #expect(((end["stdout_tail"] as? String)?.utf8.count ?? 0) <= 64 * 1024 * 3)
    }

    @Test("one 100 MB line without a newline")
    func hugeLine() throws {
        let s = Scratch()
        let input = s.write("in", [UInt8](repeating: UInt8(ascii: "x"), count: 100 << 20))
        let r = try airun(["-q", "--capture-bytes", "1K", "--", "cat", input], scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.stdout.count == 100 << 20)
        #expect(r.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
        let end = try #require(r.records("attempt.end").first)
        #expect((end["stdout_tail"] as? String)?.count == 1024)
    }

    @Test("stdin passes through and reaches EOF")
    func stdinEOF() throws {
        let s = Scratch()
        let input = s.write("in", Array("abc".utf8))
        let r = try airun(["-q", "--", "cat"], stdin: input, scratch: s)
        #expect(r.stdoutText == "abc")
        #expect(r.exitCode == 0)
    }

    @Test("invalid UTF-8 and a missing trailing newline survive; the record stays valid JSON")
    func binaryOutput() throws {
        let r = try airun(["-q", "--", "printf", "a\\377\\376b\\000c"])
        #expect(r.stdout == [0x61, 0xff, 0xfe, 0x62, 0x00, 0x63])
        let end = try #require(r.records("attempt.end").first)
        #expect(end["stdout_tail"] as? String == "a\u{FFFD}\u{FFFD}b\u{0}c")
    }

    @Test("--capture-dir keeps full copies; time to first output is recorded")
    func captureDirectory() throws {
        let s = Scratch()
        let r = try airun(["-q", "--capture-dir", s.file("cap"), "--capture-bytes", "4",
                           "--", "sh", "-c", "echo 0123456789; echo oops >&2"], scratch: s)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["stdout_tail"] as? String == "789\n")
        let file = try #require(end["stdout_file"] as? String)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "0123456789\n")
        #expect(try String(contentsOfFile: try #require(end["stderr_file"] as? String), encoding: .utf8) == "oops\n")
        #expect((end["time_to_first_output_ms"] as? Double ?? -1) >= 0)
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("-q silences airun's own lines")
    func quiet() throws {
        let r = try airun(["-q", "--", "sh", "-c", "exit 2"])
        #expect(r.exitCode == 2)
        #expect(r.stderr == "")
    }

    @Test("on a terminal (under script(1)) the child gets a pty; with pipes it does not", Requirement.scriptTrait)
    func pseudoTerminal() throws {
        let script = Requirement.script
        let cmd = "\(Airun.path) -q -- sh -c 'test -t 1 && echo stdout-tty; test -t 0 && echo stdin-tty; exit 4'"
        let r = try AirunProcess.start(["-q", "--tty", "never", "--", script, "-qec", cmd, "/dev/null"]).wait()
        #expect(r.stdoutText.contains("stdout-tty"))
        #expect(r.stdoutText.contains("stdin-tty"))
        #expect(r.exitCode == 4)
        let piped = try airun(["-q", "--", "sh", "-c", "test -t 1 && echo tty || echo pipe"])
        #expect(piped.stdoutText == "pipe\n")
        let forced = try airun(["-q", "--tty", "always", "--", "sh", "-c", "test -t 1 && echo tty || echo pipe"])
        // Output post-processing is off on the pty: the bytes are the child's, "\n" not "\r\n".
        #expect(forced.stdoutText == "tty\n")
        #expect(forced.records("attempt.end").first?["tty"] as? Bool == true)
    }
}

@Suite("examples", .timeLimit(.minutes(1)), .offPool)
struct ExampleTests {
    private var example: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/toy-model.sh").path
    }

    @Test("the quick start's example runs under airun; its failure mode exits 1")
    func toyModel() throws {
        let ok = try airun(["--", example, "Why is the sky blue?"])
        #expect(ok.exitCode == 0)
        #expect(ok.stdoutText.hasPrefix("The sky looks blue"))
        #expect(ok.stderr.contains("common_perf_print"))
        let failed = try airun(["--", example, "--fail"])
        #expect(failed.exitCode == 1)
        let tail = failed.records("error").first?["stderr"] as? String ?? ""
        #expect(tail.contains("failed to load model"))
        let traced = try airun(["-q", "--", example, "--show-trace"])
        let trace = try #require(traced.records.first?["trace_id"] as? String)
        #expect(traced.stdoutText.hasPrefix("TRACE_ID=\(trace)\n"))
    }
    @Test("the router demo without llama.cpp says what is missing and the one command that builds it")
    func demoWithoutLlama() throws {
        let s = Scratch()
        let demo = URL(fileURLWithPath: example).deletingLastPathComponent().appendingPathComponent("router/run-demo.sh").path
        var env = Airun.environment(logDirectory: s.file("logs"))
        env["HOME"] = s.path  // no ~/.cache/airun/llama.cpp-* here
        env["AIRUN_LLAMA_DIR"] = nil
        let (status, output) = runTool(["env", "-i"] + env.map { "\($0.key)=\($0.value)" } + ["bash", demo])
        #expect(status == 1, "\(output)")
        #expect(output.contains("run-demo: no llama.cpp build with tiny.gguf"), "\(output)")
        #expect(output.contains("Tests/tools/build-llama.sh\n"), "\(output)")
    }
}
