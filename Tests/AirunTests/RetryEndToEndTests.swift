import AirunCore
import Foundation
import Testing

@Suite("retries end to end", .serialized, .timeLimit(.minutes(2)), .offPool)
struct RetryEndToEndTests {
    @Test("--dry-run prints the plan and runs nothing")
    func dryRun() throws {
        let s = Scratch()
        let marker = s.file("ran")
        let r = try airun(["--dry-run", "--retries", "4", "--fallback-model", "/m/small.gguf", "--timeout", "90s", "--",
                           "sh", "-c", "touch \(marker)", "-m", "/m/big.gguf"], scratch: s)
        #expect(r.exitCode == 0)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(r.records.isEmpty)
        for part in ["profile:", "attempts:     4", "backoff:", "fallback:     models /m/small.gguf", "timeout:      90s per attempt"] {
            #expect(r.stdoutText.contains(part), "\(part) missing from:\n\(r.stdoutText)")
        }
    }

    @Test("a profile with attempts = \"three\" on line 2 stops before running, exit 125 naming file:2")
    func badProfile() throws {
        let s = Scratch()
        let profile = s.write("bad.toml", Array("[retry]\nattempts = \"three\"\n".utf8))
        let marker = s.file("ran")
        let r = try airun(["--profile", profile, "--", "touch", marker], scratch: s)
        #expect(r.exitCode == 125)
        #expect(r.stderr.hasPrefix("airun: \(profile):2:1: retry.attempts must be an integer"))
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(r.records.isEmpty)
        let named = try airun(["--profile", "no-such-profile", "--", "true"], scratch: s)
        #expect(named.exitCode == 125 && named.stderr.contains("no profile named 'no-such-profile'"))
    }

    @Test("during a backoff the failed attempt's end, error and retry are in the record file already")
    func recordsBeforeBackoff() throws {
        let s = Scratch()
        let profile = s.write("slow.toml", Array("[retry]\nattempts = 2\nbackoff = \"fixed\"\ninitial_delay = \"30s\"\njitter = 0\n".utf8))
        let p = try AirunProcess.start(["--profile", profile, "--", "sh", "-c", "exit 3"], scratch: s)
        let events = { readRecords(in: s.file("logs")).compactMap { $0["event"] as? String } }
        #expect(eventually(within: 20) { events().contains("retry") }, "\(events())")
        #expect(events() == ["run.start", "attempt.start", "attempt.end", "error", "retry"], "the records held for the next one went with it")
        kill(p.pid, SIGTERM)
        let r = try p.wait()
        #expect(r.status == .signaled(.terminate, coreDumped: false), "airun ends by the signal that ended its wait: \(r.stderr)")
        #expect(events().last == "run.end", "\(events())")
    }

    @Test("a generic failure with --retries 3 runs 3 attempts; the exit status is the last one's")
    func generic() throws {
        let s = Scratch()
        let counter = s.file("count")
        let script = "n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter); echo attempt $n; exit $((n+10))"
        let r = try airun(["--profile", quickProfile(s), "--retries", "3", "--", "sh", "-c", script], scratch: s)
        #expect(r.exitCode == 13)
        #expect(r.stdoutText == "attempt 1\nattempt 2\nattempt 3\n")
        #expect(r.records("attempt.end").count == 3)
        let retries = r.records("retry")
        #expect(retries.count == 2)
        #expect(retries.compactMap { $0["error_code"] as? String } == ["NONZERO_EXIT", "NONZERO_EXIT"])
        #expect(r.records("error").compactMap { $0["retry_count"] as? Int } == [0, 1, 2])
        let end = try #require(r.records("run.end").first)
        #expect(end["attempts"] as? Int == 3 && end["retry_count"] as? Int == 2 && end["exit_code"] as? Int == 13)
        let spans = Set(r.records("attempt.start").compactMap { $0["span_id"] as? String })
        #expect(spans.count == 3, "each attempt has its own span")
        #expect(r.stdoutText.split(separator: "\n").count == 3)
    }

    @Test("BAD_ARGUMENTS is never retried")
    func badArguments() throws {
        let s = Scratch()
        let stderr = Fixture.directory + "/llama.cpp/completion-bad-arg.stderr"
        let r = try airun(["--profile", quickProfile(s), "--retries", "5", "--", "sh", "-c", "cat '\(stderr)' >&2; exit 1"], scratch: s)
        #expect(r.exitCode == 1)
        #expect(r.records("attempt.end").count == 1)
        #expect(r.records("retry").isEmpty)
        #expect(r.records("error").first?["error_code"] as? String == "BAD_ARGUMENTS")
    }

    @Test("a GPU_OOM replayed from the H200 capture lowers -ngl on each retry until it fits")
    func gpuOOMEdit() throws {
        let s = Scratch()
        // The H200's real CUDA out-of-memory (llama.cpp-cuda/cuda-oom-kv is a KV-cache allocation,
        // classified CONTEXT_TOO_LARGE, whose fix is -c; see the next test).
        let oom = Fixture.directory + "/gpu/gpu-oom-torch.txt"
        // A stand-in for llama-completion: out of GPU memory while more than 10 layers are offloaded.
        let fake = s.write("fake-llama", Array("""
            #!/bin/sh
            while [ $# -gt 0 ]; do [ "$1" = "-ngl" ] && ngl=$2; shift; done
            if [ "$ngl" -gt 10 ]; then cat '\(oom)' >&2; exit 1; fi
            echo "generated with -ngl $ngl"
            """.utf8))
        chmod(fake, 0o755)
        let profile = quickProfile(s, """
            [[fallback.edit]]
            on = "GPU_OOM"
            argument = "-ngl"
            scale = 0.5
            """)
        let r = try airun(["--profile", profile, "--", fake, "-m", "/m/model.gguf", "-ngl", "40", "-p", "hi"], scratch: s)
        #expect(r.exitCode == 0)
        #expect(r.stdoutText == "generated with -ngl 10\n")
        let codes = r.records("error").compactMap { $0["error_code"] as? String }
        #expect(codes == ["GPU_OOM", "GPU_OOM"])
        let changes = r.records("retry").compactMap { $0["change"] as? String }
        #expect(changes == ["-ngl 40 → 20", "-ngl 20 → 10"])
        let starts = r.records("attempt.start").compactMap { $0["command_args"] as? [String] }
        #expect(starts.map { $0[4] } == ["40", "20", "10"])
    }

    @Test("the H200 KV-cache out-of-memory halves -c with the shipped llama-completion profile's edit")
    func contextEdit() throws {
        let s = Scratch()
        let oom = Fixture.directory + "/llama.cpp-cuda/cuda-oom-kv.stderr"
        let fake = s.write("fake-llama", Array("""
            #!/bin/sh
            while [ $# -gt 0 ]; do [ "$1" = "-c" ] && ctx=$2; shift; done
            if [ "$ctx" -gt 4096 ]; then cat '\(oom)' >&2; exit 1; fi
            echo "fits with -c $ctx"
            """.utf8))
        chmod(fake, 0o755)
        let profile = quickProfile(s, """
            [[fallback.edit]]
            on = "CONTEXT_TOO_LARGE"
            argument = "-c"
            scale = 0.5
            minimum = 512
            """)
        let r = try airun(["--profile", profile, "--", fake, "-m", "/m/model.gguf", "-c", "16384"], scratch: s)
        #expect(r.stdoutText == "fits with -c 4096\n")
        #expect(r.records("retry").compactMap { $0["change"] as? String } == ["-c 16384 → 8192", "-c 8192 → 4096"])
    }

    @Test("SIGTERM during a backoff wait stops the run at once: 143, run.end keeping the last error code")
    func interruptedBackoff() throws {
        let s = Scratch()
        let profile = s.write("slow.toml", Array("[retry]\nattempts = 3\nbackoff = \"fixed\"\ninitial_delay = \"60s\"\n".utf8))
        let p = try AirunProcess.start(["--profile", profile, "--", "sh", "-c", "exit 1"], scratch: s)
        #expect(eventually(within: 10) { readRecords(in: s.file("logs")).contains { $0["event"] as? String == "retry" } })
        let sent = Date()
        kill(p.pid, SIGTERM)
        let r = try p.wait()
        #expect(Date().timeIntervalSince(sent) < 2)
        #expect(r.status == .signaled(.terminate, coreDumped: false))
        let end = try #require(r.records("run.end").first)
        #expect(end["status"] as? String == "interrupted" && end["exit_code"] as? Int == 143 && end["attempts"] as? Int == 1)
        // The error code is still the last attempt's, as documented; the status says interrupted.
        #expect(end["error_code"] as? String == "NONZERO_EXIT")
    }
}
