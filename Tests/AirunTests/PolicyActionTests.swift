import AirunCore
import Foundation
import Testing

/// The dry-run's table of what follows each error code is what a run does: every code is driven
/// through a real run (`--simulate`, and a stand-in printing captured llama.cpp lines) and its
/// next attempt compared with the table's line.
@Suite("what follows each error code", .timeLimit(.minutes(3)), .offPool)
struct PolicyActionTests {
    /// A profile that retries quickly, falls back to another model on model failures and edits
    /// arguments on memory failures, so each kind of action appears in the table.
    static let profile = """
        [retry]
        attempts = 2
        initial_delay = "10ms"
        max_delay = "10ms"
        never_retry_on = ["PYTHON_EXCEPTION"]
        [fallback]
        models = ["/m/small.gguf"]
        on = ["MODEL_NOT_FOUND", "MODEL_INVALID", "MODEL_CORRUPT", "MODEL_UNSUPPORTED", "MODEL_LOAD_FAILED", "PROMPT_TOO_LONG"]
        [[fallback.edit]]
        on = "GPU_OOM"
        argument = "-ngl"
        scale = 0.5
        [[fallback.edit]]
        on = "CONTEXT_TOO_LARGE"
        argument = "-c"
        scale = 0.5
        minimum = 512
        """

    /// A stand-in for a model command: `sh` with llama.cpp's arguments after its script.
    static func command(_ script: String) -> [String] {
        ["sh", "-c", script, "stand-in", "-m", "/m/big.gguf", "-ngl", "99", "-c", "8192"]
    }

    /// The dry-run's line for each code: the change attempt 2 makes, or nil when there is none.
    static func plan(_ s: Scratch, _ profile: String, _ command: [String]) throws -> [String: String?] {
        let r = try airun(["--profile", profile, "--dry-run", "--"] + command, scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        var table: [String: String?] = [:]
        var inTable = false
        for line in r.stdoutText.split(separator: "\n") {
            if line.hasPrefix("after:") { inTable = true; continue }
            guard inTable, line.hasPrefix(" ") else { if inTable { inTable = false }; continue }
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard fields.count == 2, ErrorCode(rawValue: String(fields[0])) != nil else { continue }
            let next = fields[1].trimmingCharacters(in: .whitespaces)
            if next.hasPrefix("nothing") { table[String(fields[0])] = .some(nil) } else {
                table[String(fields[0])] = .some(next.components(separatedBy: " after ").first)
            }
        }
        #expect(table.count == ErrorCode.allCases.count, "\(r.stdoutText)")
        return table
    }

    /// Checks a finished run against the table's line for the code its first attempt got.
    static func check(_ r: AirunResult, code: String, planned: String?, command: [String]) throws {
        let error = try #require(r.records("error").first, "\(r.stderr)")
        #expect(error["error_code"] as? String == code, "\(r.stderr)")
        let retries = r.records("retry")
        guard let change = planned else {
            #expect(retries.isEmpty, "\(code): the table says nothing follows, the run retried: \(retries)")
            #expect(r.records("attempt.start").count == 1)
            return
        }
        let retry = try #require(retries.first, "\(code): the table says '\(change)', the run stopped: \(r.stderr)")
        #expect(retry["change"] as? String == change, "\(code)")
        let second = try #require(r.records("attempt.start").dropFirst().first)
        #expect(second["command_args"] as? [String] == retry["command_args"] as? [String])
        // Never the identical command after a failure the table does not call transient.
        if change == "the same command" {
            #expect(ErrorCode(rawValue: code)?.retryableByDefault == true, "\(code) re-run unchanged")
        } else {
            #expect(second["command_args"] as? [String] != command, "\(code): '\(change)' left the command unchanged")
        }
    }

    @Test("--simulate CODE: each code's next attempt is the dry-run's line", arguments: ErrorCode.allCases)
    func simulated(code: ErrorCode) throws {
        let s = Scratch()
        let profile = s.write("policy.toml", Array(Self.profile.utf8))
        let command = Self.command("exit 0")
        let planned = try #require(try Self.plan(s, profile, command)[code.rawValue])
        let r = try airun(["--profile", profile, "--simulate", code.rawValue, "--"] + command, scratch: s)
        try Self.check(r, code: code.rawValue, planned: planned, command: command)
        let first = try #require(r.records("attempt.end").first)
        #expect(first["simulated"] as? Bool == true && first["pid"] is NSNull)
        #expect(r.records("attempt.start").first?["simulated"] as? Bool == true)
        // A run that retried ends with the real second attempt's success; one that stopped, with the code's status.
        #expect(r.exitCode == (planned == nil ? Int32(first["exit_code"] as? Int ?? -1) : 0), "\(r.stderr)")
    }

    @Test("captured llama.cpp failures, classified for real: the next attempt is the dry-run's line, and classify agrees",
          arguments: [("llama.cpp/completion-missing-model", "MODEL_NOT_FOUND"), ("llama.cpp/completion-not-gguf", "MODEL_INVALID"),
                      ("llama.cpp/completion-truncated-model", "MODEL_CORRUPT"), ("llama.cpp/completion-ctx-bad-alloc", "CONTEXT_TOO_LARGE"),
                      ("llama.cpp/completion-host-oom", "CONTEXT_TOO_LARGE"), ("llama.cpp/completion-bad-arg", "BAD_ARGUMENTS"),
                      ("llama.cpp-cuda/cuda-oom-kv", "CONTEXT_TOO_LARGE")])
    func captured(fixture: String, code: String) throws {
        let s = Scratch()
        let profile = s.write("policy.toml", Array(Self.profile.utf8))
        let stderr = Fixture.directory + "/" + fixture + ".stderr"
        let command = Self.command("cat '\(stderr)' >&2; exit 1")
        let planned = try #require(try Self.plan(s, profile, command)[code])
        let r = try airun(["--profile", profile, "--"] + command, scratch: s)
        #expect(r.exitCode == 1)
        try Self.check(r, code: code, planned: planned, command: command)
        let verdict = try airun(["classify", "--profile", profile, "--stderr", stderr, "--exit-code", "1", "--json", "--"] + command, scratch: s)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(verdict.stdout)) as? [String: Any])
        #expect(json["error_code"] as? String == code)
    }
}

/// Time limits that add up: per attempt (`--timeout`), for the whole run (`--max-time`), and a
/// profile whose limits leave no room for the retry it promises.
@Suite("deadlines that add up", .timeLimit(.minutes(2)), .offPool)
struct DeadlineTests {
    @Test("--max-time stops the attempt running at the deadline: TIMEOUT, exit 124, no retry after it")
    func cutsTheAttempt() throws {
        let r = try airun(["--max-time", "1s", "--retries", "3", "--", "sleep", "30"])
        #expect(r.exitCode == 124, "\(r.stderr)")
        #expect(r.records("attempt.end").count == 1)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["timed_out"] as? Bool == true && (end["duration_ms"] as? Double ?? 0) < 5_000)
        #expect(r.records("error").first?["error_code"] as? String == "TIMEOUT")
        #expect(r.stderr.contains("not retrying: max_total_time 1s would be exceeded"), "\(r.stderr)")
    }

    @Test("--max-time covers the waits: a retry that would start past it does not, and the later attempt is cut to what is left")
    func coversTheWaits() throws {
        let s = Scratch()
        // Attempt 1 fails at once; the wait is 1s; attempt 2 hangs and must be cut at the run's 2.5s.
        let marker = s.file("ran-once")
        let script = "[ -e \(marker) ] && exec sleep 30; touch \(marker); exit 3"
        let r = try airun(["--max-time", "2500ms", "--retries", "3", "--", "sh", "-c", script], scratch: s)
        #expect(r.exitCode == 124, "\(r.stderr)")
        let ends = r.records("attempt.end")
        #expect(ends.count == 2, "\(r.stderr)")
        let second = try #require(ends.last)
        #expect(second["timed_out"] as? Bool == true)
        let run = try #require(r.records("run.end").first)
        #expect((run["duration_ms"] as? Double ?? 0) < 2_500 + 1_500, "the run passed its deadline: \(run)")
        // Stopped before the wait: the last attempt's own status, not 124.
        let fast = try airun(["--max-time", "1500ms", "--retries", "5", "--", "sh", "-c", "exit 3"], scratch: s)
        #expect(fast.records("attempt.end").count >= 1)
        #expect(fast.exitCode == 3 && fast.stderr.contains("not retrying: max_total_time 1.5s would be exceeded"), "\(fast.stderr)")
    }

    @Test("--help says --timeout is per attempt; --max-time and --fallback-model without -m are checked")
    func options() throws {
        let help = try airun(["--help"]).stdoutText
        #expect(help.contains("--timeout DURATION") && help.contains("per attempt") && help.contains("--max-time DURATION"))
        let noModel = try airun(["--fallback-model", "small.gguf", "--", "echo", "hi"])
        #expect(noModel.exitCode == 125 && noModel.stdoutText.isEmpty)
        #expect(noModel.stderr.contains("--fallback-model replaces the command's -m/--model MODEL, and this command names none"))
        #expect(try airun(["--max-time", "0", "--", "true"]).exitCode == 125)
    }

    @Test("profile check reports limits that leave a timed-out attempt no retry; the shipped profiles have none")
    func profileCheck() throws {
        let s = Scratch()
        let bad = s.write("tight.toml", Array("[retry]\nattempts = 3\nmax_total_time = \"15m\"\n[timeout]\nattempt = \"20m\"\n".utf8))
        let r = try airun(["profile", "check", bad], scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.stdoutText.contains("\(bad): warning: retry.max_total_time 15m is not longer than timeout.attempt 20m"), "\(r.stdoutText)")
        let dry = try airun(["--profile", bad, "--dry-run", "--", "true"], scratch: s)
        #expect(dry.stdoutText.contains("warning:      retry.max_total_time 15m"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try FileManager.default.contentsOfDirectory(atPath: root.path + "/profiles").filter { $0.hasSuffix(".toml") }
            .map { root.path + "/profiles/" + $0 }
        #expect(shipped.count >= 4)
        let check = try airun(["profile", "check"] + shipped, scratch: s)
        #expect(check.exitCode == 0 && !check.stdoutText.contains("warning"), "\(check.stdoutText)")
    }
}
