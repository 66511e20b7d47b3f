import AirunCore
import Foundation
import Testing

/// Issue 11: what the profile, the records and the command line say is what airun does.
@Suite("policy keeps its word", .serialized, .timeLimit(.minutes(2)), .offPool)
struct PolicyTests {
    @Test("a profile's [[classify]] rule decides in a run and in airun classify alike")
    func profileRules() throws {
        let s = Scratch()
        let profile = quickProfile(s, """
            [[classify]]
            name = "site.quota"
            code = "GPU_OOM"
            phrases = ["quota exhausted"]
            retryable = false
            """, attempts: 1)
        let r = try airun(["--profile", profile, "--", "sh", "-c", "echo 'gpu quota exhausted' >&2; exit 1"], scratch: s)
        let e = try #require(r.records("error").first)
        #expect(e["error_code"] as? String == "GPU_OOM" && e["classified_by"] as? String == "site.quota")
        #expect(e["retryable"] as? Bool == false)

        let stderr = s.write("err.txt", Array("gpu quota exhausted\n".utf8))
        let c = try airun(["classify", "--stderr", stderr, "--exit-code", "1", "--profile", profile, "--json"], scratch: s)
        #expect(c.exitCode == 0)
        let verdict = try #require(try JSONSerialization.jsonObject(with: Data(c.stdout)) as? [String: Any])
        #expect(verdict["error_code"] as? String == "GPU_OOM" && verdict["classified_by"] as? String == "site.quota")
        // Without the profile the built-in rules see nothing specific.
        let plain = try airun(["classify", "--stderr", stderr, "--exit-code", "1"], scratch: s)
        #expect(plain.stdoutText.contains("NONZERO_EXIT"))
        // A profile that does not exist is airun's error, named.
        let missing = try airun(["classify", "--stderr", stderr, "--exit-code", "1", "--profile", "no-such-profile"], scratch: s)
        #expect(missing.exitCode == 125 && missing.stderr.contains("no profile named 'no-such-profile'"))
    }

    @Test("a profile rule's hint replaces the code's on the console and in classify; a hint that is not one short line is refused at its line")
    func profileRuleHint() throws {
        let s = Scratch()
        let profile = quickProfile(s, """
            [[classify]]
            name = "site.stale-nfs"
            code = "KILLED_BY_SIGNAL"
            phrases = ["stale file handle"]
            hint = "remount /mnt/models (sudo mount -o remount /mnt/models), then run it again"
            """, attempts: 1)
        let hint = "remount /mnt/models (sudo mount -o remount /mnt/models), then run it again"
        let r = try airun(["--profile", profile, "--", "sh", "-c", "echo 'read: stale file handle' >&2; exit 1"], scratch: s)
        #expect(r.stderr.contains("airun:   hint: \(hint)\n"), "\(r.stderr)")
        #expect(!r.stderr.contains(ErrorCode.killedBySignal.hint))
        let stderr = s.write("err.txt", Array("read: stale file handle\n".utf8))
        let c = try airun(["classify", "--stderr", stderr, "--exit-code", "1", "--profile", profile, "--json"], scratch: s)
        let verdict = try #require(try JSONSerialization.jsonObject(with: Data(c.stdout)) as? [String: Any])
        #expect(verdict["hint"] as? String == hint)
        for bad in ["hint = \"two\\nlines\"", "hint = \"\"", "hint = \"\(String(repeating: "x", count: 301))\"", "hint = \"bell\\u0007\"", "hint = 3"] {
            let file = s.write("bad.toml", Array("[[classify]]\ncode = \"GPU_OOM\"\nphrases = [\"x\"]\n\(bad)\n".utf8))
            let refused = try airun(["--profile", file, "--", "true"], scratch: s)
            #expect(refused.exitCode == 125 && refused.stderr.contains("bad.toml:4"), "\(bad): \(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "one line: \(refused.stderr)")
            if bad == "hint = 3" { #expect(refused.stderr.contains("classify[1].hint must be a string, not an integer")) }
        }
    }

    @Test("classify with the command after -- sees the model file, as the run does (git-lfs pointer → MODEL_INVALID)")
    func classifyWithCommand() throws {
        let s = Scratch()
        let model = s.write("model.gguf", Array("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n".utf8))
        let command = ["sh", "-c", "exit 1", "sh", "-m", model]
        let r = try airun(["--"] + command, scratch: s)
        let e = try #require(r.records("error").first)
        #expect(e["error_code"] as? String == "MODEL_INVALID" && e["classified_by"] as? String == "model-file")
        let stderr = s.write("empty.txt", [])
        let with = try airun(["classify", "--stderr", stderr, "--exit-code", "1", "--"] + command, scratch: s)
        #expect(with.stdoutText.contains("error_code: MODEL_INVALID") && with.stdoutText.contains("rule:       model-file"))
        let without = try airun(["classify", "--stderr", stderr, "--exit-code", "1"], scratch: s)
        #expect(without.stdoutText.contains("error_code: NONZERO_EXIT"))
    }

    @Test("--fallback-model alone (default profile, one attempt) gives the fallback its attempt")
    func fallbackAlone() throws {
        let s = Scratch()
        let good = s.write("good.gguf", ModelFileTests.wholeFile())
        let script = "test -f \"$2\" || { echo \"failed to open GGUF file $2\" >&2; exit 1; }; echo ran $2"
        let r = try airun(["--fallback-model", good, "--", "sh", "-c", script, "sh", "-m", s.file("missing.gguf")], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdoutText == "ran \(good)\n")
        #expect(r.records("run.start").first?["max_attempts"] as? Int == 2)
        #expect(r.records("retry").first?["fallback_model"] as? String == good)
        // The dry run says so before anything runs.
        let plan = try airun(["--dry-run", "--fallback-model", good, "--", "sh", "-m", "x.gguf"], scratch: s)
        #expect(plan.stdoutText.contains("attempts:     2"))
        #expect(plan.stdoutText.contains("MODEL_NOT_FOUND    fallback model good.gguf after"))
    }

    @Test("never_retry_on stops the same command, not a fallback: MODEL_UNSUPPORTED with a fallback model runs it")
    func neverRetryVersusFallback() throws {
        let s = Scratch()
        let good = s.write("good.gguf", ModelFileTests.wholeFile())
        let v4 = s.write("v4.gguf", ModelFileTests.header(version: 4))
        let profile = quickProfile(s, "never_retry_on = [\"MODEL_UNSUPPORTED\", \"NONZERO_EXIT\"]")
        let script = "case \"$2\" in *v4.gguf) echo \"gguf_init_from_file_impl: bad GGUF version: 4\" >&2; exit 1;; esac; echo ok"
        let r = try airun(["--profile", profile, "--fallback-model", good, "--", "sh", "-c", script, "sh", "-m", v4], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.records("error").first?["error_code"] as? String == "MODEL_UNSUPPORTED")
        #expect(r.records("retry").first?["change"] as? String == "fallback model good.gguf")
        // Without a fallback the same failure is final, and the dry run says why.
        let alone = try airun(["--profile", profile, "--", "sh", "-c", script, "sh", "-m", v4])
        #expect(alone.exitCode == 1 && alone.records("attempt.start").count == 1)
        let plan = try airun(["--dry-run", "--profile", profile, "--", "sh", "-m", v4], scratch: s)
        #expect(plan.stdoutText.contains("MODEL_UNSUPPORTED  nothing: MODEL_UNSUPPORTED matches never_retry_on MODEL_UNSUPPORTED"))
        #expect(plan.stdoutText.contains("GPU_OOM            the same command after 20ms"))
    }

    @Test("error records are WARN when another attempt follows, ERROR when the failure ends the run")
    func levels() throws {
        let s = Scratch()
        let marker = s.file("second")
        // Fails the first time, succeeds the second.
        let r = try airun(["--profile", quickProfile(s), "--", "sh", "-c", "test -e \(marker) || { touch \(marker); exit 3; }"], scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.records("error").map { $0["level"] as? String } == ["WARN"])
        #expect(r.records("run.end").first?["level"] as? String == "INFO")
        let failing = try airun(["--profile", quickProfile(s), "--", "sh", "-c", "exit 3"])
        #expect(failing.records("error").map { $0["level"] as? String } == ["WARN", "WARN", "ERROR"])
        #expect(failing.records("run.end").first?["level"] as? String == "ERROR")
    }

    @Test("a failed attempt's output is stored once: in its error record")
    func tailsOnce() throws {
        let s = Scratch()
        let r = try airun(["--profile", quickProfile(s), "--", "sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; exit 3"], scratch: s)
        #expect(r.exitCode == 3)
        for e in r.records("error") { #expect((e["stdout"] as? String)?.utf8.count == 65536) }
        for e in r.records("attempt.end") { #expect(e["stdout_tail"] == nil && e["stdout_bytes"] as? Int == 200000) }
        let files = try FileManager.default.contentsOfDirectory(atPath: r.logDirectory)
        let size = try files.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: r.logDirectory + "/" + $1)[.size] as? Int) ?? 0) }
        #expect(size < 3 * 65536 + 30000, "a 3-attempt failure wrote \(size) bytes of records")
    }

    @Test("the summary line: TIMEOUT after a timeout, tokens and tokens/s after a llama.cpp success")
    func summaryLine() throws {
        let t = try airun(["--timeout", "0.2s", "--", "sleep", "5"])
        #expect(t.exitCode == 124)
        #expect(t.stderr.contains(" exit=124 TIMEOUT (timed out) "), "\(t.stderr)")
        let perf = """
            common_perf_print:        load time =      52.47 ms
            common_perf_print: prompt eval time =       4.00 ms /     8 tokens (    0.50 ms per token,  2000.00 tokens per second)
            common_perf_print:        eval time =    3100.00 ms /    63 runs   (   49.21 ms per token,    20.32 tokens per second)
            """
        let ok = try airun(["--", "sh", "-c", "printf '%s\\n' '\(perf)' >&2"])
        #expect(ok.stderr.contains(" exit=0 64 tok 20.3 tok/s "), "\(ok.stderr)")
    }
}

@Suite("tags and the caller's model id", .timeLimit(.minutes(1)), .offPool)
struct TagTests {
    @Test("profile [tags], AIRUN_TAGS and --tag, later replacing earlier, on run.start, attempt.end, error and run.end")
    func precedence() throws {
        let s = Scratch()
        let profile = s.write("tagged.toml", Array("[tags]\nteam = \"ml\"\nproject = \"from-profile\"\n".utf8))
        let r = try airun(["--profile", profile, "--tag", "session=s1", "--tag", "user=bob", "--", "sh", "-c", "exit 2"],
                          environment: ["AIRUN_TAGS": "project=chat, user=ana"], scratch: s)
        let expected = ["team": "ml", "project": "chat", "user": "bob", "session": "s1"]
        for event in ["run.start", "attempt.end", "error", "run.end"] {
            let tags = try #require(r.records(event).first?["tags"] as? [String: String], "\(event) has no tags")
            #expect(tags == expected, "\(event)")
        }
        #expect(r.records("attempt.start").first?["tags"] == nil)
    }

    @Test("bad tags: --tag is a usage error, AIRUN_TAGS is warned about; a profile's names the line")
    func badTags() throws {
        let s = Scratch()
        for bad in ["novalue", "bad key=x", "=x"] {
            let r = try airun(["--tag", bad, "--", "true"], scratch: s)
            #expect(r.exitCode == 125 && r.stderr.contains("--tag"), "\(bad): \(r.stderr)")
        }
        let w = try airun(["--", "true"], environment: ["AIRUN_TAGS": "ok=1,broken"], scratch: s)
        #expect(w.exitCode == 0 && w.stderr.contains("ignoring AIRUN_TAGS entry 'broken'"))
        #expect(w.records("run.start").first?["tags"] as? [String: String] == ["ok": "1"])
        let profile = s.write("bad.toml", Array("[tags]\n\"a b\" = \"x\"\n".utf8))
        let p = try airun(["--profile", profile, "--", "true"], scratch: s)
        #expect(p.exitCode == 125 && p.stderr.contains("bad.toml:2:"), "\(p.stderr)")
    }

    @Test("--model-id names the model asked for; a fallback model keeps its file name")
    func modelID() throws {
        let s = Scratch()
        let good = s.write("small-8b.gguf", ModelFileTests.wholeFile())
        let script = "test -f \"$2\" || exit 1"
        let r = try airun(["--model-id", "llama33-70b", "--fallback-model", good, "--", "sh", "-c", script, "sh", "-m", s.file("big.gguf")],
                          scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.records("run.start").first?["model_id"] as? String == "llama33-70b")
        #expect(r.records("attempt.end").map { $0["model_id"] as? String } == ["llama33-70b", "small-8b"])
        #expect(r.records("error").first?["model_id"] as? String == "llama33-70b")
        let env = try airun(["--", "python3", "-c", "pass"], environment: ["AIRUN_MODEL_ID": "router-default"])
        #expect(env.records("attempt.end").first?["model_id"] as? String == "router-default")
    }
}
