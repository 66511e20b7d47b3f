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
