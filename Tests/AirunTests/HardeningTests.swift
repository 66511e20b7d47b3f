@testable import AirunCLI
import AirunCore
import AirunSystem
import Foundation
import Testing

/// What an adversarial pass broke (issue 10), each case kept here so it stays fixed.
@Suite("hostile input and hostile surroundings", .timeLimit(.minutes(2)), .offPool)
struct HardeningTests {
    static let hugePerfLine = "common_perf_print:        eval time =     100.00 ms / 99999999999999999999999 runs   (    0.00 ms per token, 1e400 tokens per second)\n"

    @Test("a llama.cpp figure beyond 2^63 in the child's output neither crashes the run nor classify")
    func hugeNumbersInOutput() throws {
        let s = Scratch()
        let log = s.write("stderr.txt", Array(Self.hugePerfLine.utf8))
        let r = try airun(["--", "sh", "-c", "cat '\(log)' >&2"], scratch: s)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.records("run.end").count == 1)
        let failed = try airun(["--", "sh", "-c", "cat '\(log)' >&2; exit 3"], scratch: s)
        #expect(failed.exitCode == 3)
        #expect(failed.records("error").count == 1)
        let classify = try airun(["classify", "--stderr", log, "--exit-code", "1"], scratch: s)
        #expect(classify.exitCode == 0, "\(classify.stderr)")
    }

    @Test("started with 0, 1 or 2 closed, airun opens nothing there and the child sees them closed", arguments: [0, 1, 2])
    func closedStandardStreams(fd: Int32) throws {
        // The marker is computed, so only the child's output can carry it, not the command line.
        let script = "echo OUT-$((6*7))-MARK; echo \"stdout=$?\" >&2; echo ERR >&2 || echo \"stderr=1\"; "
            + "read x; echo \"stdin=$?\" >&2"
        let closed: Set<FileDescriptor> = [FileDescriptor(fd)]
        let bare = try AirunProcess.start(["sh", "-c", script], executable: "/usr/bin/env", closed: closed).wait()
        let wrapped = try AirunProcess.start(["-q", "--", "sh", "-c", script], closed: closed).wait()
        #expect(wrapped.exitCode == bare.exitCode)
        #expect(wrapped.stderr == bare.stderr, "fd \(fd)")
        #expect(wrapped.stdoutText == bare.stdoutText, "fd \(fd)")
        // Every line of the log is a record (readRecords fails the test on anything else)...
        #expect(wrapped.records("run.end").count == 1)
        // ...and with stdout closed, the child's stdout went nowhere.
        if fd == 1 {
            let end = try #require(wrapped.records("attempt.end").first)
            #expect(!"\(end)".contains("OUT-42-MARK"))
        }
    }

    @Test("output that cannot be delivered (a full disk) is said once and the run fails, as the bare command does",
          arguments: ["python3 -c 'print(\"x\" * 10)'", "head -c 1000000 /dev/zero"])
    func undeliverableOutput(command: String) throws {
        let bare = try AirunProcess.start(["sh", "-c", command], stdout: "/dev/full", executable: "/usr/bin/env").wait()
        #expect(bare.exitCode == 1)
        let r = try AirunProcess.start(["--", "sh", "-c", command], stdout: "/dev/full").wait()
        #expect(r.exitCode == bare.exitCode, "\(r.stderr)")
        #expect(r.stderr.components(separatedBy: "cannot write the command's stdout (No space left on device)").count == 2)
        let end = try #require(r.records("attempt.end").first)
        #expect(end["return_code"] as? Int == 0 && end["exit_code"] as? Int == 1 && end["status"] as? String == "failed")
        #expect(end["output_lost"] as? String == "stdout: No space left on device")
        #expect(r.records("error").first?["error_code"] as? String == "OUTPUT_LOST")
        // A reader that goes away is no loss: the command meets SIGPIPE itself, as without airun.
        let pipeline = "yes | head -1 >/dev/null; echo bare=${PIPESTATUS[0]}; airun -q -- yes | head -1 >/dev/null; echo airun=${PIPESTATUS[0]}"
        let closedReader = try airun(["-q", "--", "bash", "-c", pipeline])
        #expect(closedReader.stdoutText == "bare=141\nairun=141\n")
    }

    @Test("a background job of the child keeps writing after airun returns, to a file and to a pipe")
    func backgroundJobOutput() throws {
        let s = Scratch()
        let out = s.file("late.out")
        let started = Date()
        let r = try airun(["-q", "--", "sh", "-c", "(sleep 1; echo late) > /dev/stdout &"], scratch: s)
        #expect(r.exitCode == 0)
        #expect(Date().timeIntervalSince(started) < 0.9, "airun waited for the background job")
        // Through a shell, so the reader is a pipe to cat that outlives airun.
        let piped = try airun(["-q", "--", "sh", "-c", "airun -q -- sh -c '(sleep 1; echo late-pipe) &' | cat > '\(out)'"])
        #expect(piped.exitCode == 0)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "late-pipe\n")
        #expect(eventually(within: 3) { r.stdoutText == "late\n" }, "the background job's line never arrived: \(r.stdoutText.debugDescription)")
    }

    @Test("signals ignored when airun started (nohup's SIGHUP, a script's SIGINT for background jobs) stay ignored")
    func ignoredSignals() throws {
        let hup = "trap '' HUP; exec \(Airun.path) -q -- sh -c 'kill -HUP $$; echo survived'"
        let r = try airun(["-q", "--", "sh", "-c", hup])
        #expect(r.stdoutText == "survived\n", "\(r.stderr)")
        let int = "trap '' INT; \(Airun.path) -q -- sh -c 'sleep 0.6; echo survived' & p=$!; sleep 0.3; kill -INT $p; wait $p; echo rc=$?"
        let i = try airun(["-q", "--", "sh", "-c", int])
        #expect(i.stdoutText == "survived\nrc=0\n", "\(i.stderr)")
        // SIGCHLD ignored by the starter must not make the child's status unreadable.
        let chld = try airun(["-q", "--", "python3", "-c",
                              "import os, signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv('\(Airun.path)', ['airun', '-q', '--', 'sh', '-c', 'exit 7'])"])
        #expect(chld.exitCode == 7, "\(chld.stderr)")
    }

    @Test("the command starts with exactly the ignored signals it has without airun (airun sets back only what it changed)",
          arguments: ["", "HUP ALRM", "PIPE XFSZ", "INT URG PIPE", "TERM USR1 WINCH CHLD"])
    func ignoredSignalsAsBare(ignored: String) throws {
        // A starter that sets every signal itself (a shell cannot undo what it was started with
        // ignored, and this test process ignores SIGPIPE), then execs the command, bare or wrapped.
        let starter = """
            import os, signal, sys
            for s in range(1, 32):
                try: signal.signal(s, signal.SIG_IGN if signal.Signals(s).name[3:] in sys.argv[1].split() else signal.SIG_DFL)
                except (OSError, ValueError): pass
            os.execv(sys.argv[2], sys.argv[2:])
            """
        let status = ["/bin/grep", "SigIgn", "/proc/self/status"]
        let bare = try airun(["-q", "--", "python3", "-c", starter, ignored] + status)
        let wrapped = try airun(["-q", "--", "python3", "-c", starter, ignored, Airun.path, "-q", "--"] + status)
        #expect(bare.stdoutText.hasPrefix("SigIgn:"), "\(bare.stdoutText) \(bare.stderr)")
        #expect(wrapped.stdoutText == bare.stdoutText, "\(wrapped.stderr)")
    }

    @Test("arguments, environment and PATH entries that are not UTF-8 reach the child byte for byte")
    func nonUTF8Bytes() throws {
        let s = Scratch()
        let name = OSBytes.decode(Array("caf".utf8) + [0xE9] + Array(".txt".utf8))  // caf\xe9.txt
        #expect(OSBytes.encode(name) == Array("caf".utf8) + [0xE9] + Array(".txt".utf8))
        _ = try withOSBytes(s.file(name)) { path in
            let fd = open(path, O_WRONLY | O_CREAT, 0o600)
            try #require(fd >= 0)
            _ = write(fd, "hello\n", 6)
            close(fd)
        }
        let r = try airun(["-q", "--", "cat", s.file(name)], scratch: s)
        #expect(r.exitCode == 0 && r.stdoutText == "hello\n", "\(r.stderr)")
        let value = OSBytes.decode([0x63, 0x61, 0x66, 0xE9, 0xFF])
        let env = try airun(["-q", "--", "sh", "-c", "printf %s \"$V\""], environment: ["V": value])
        #expect(env.stdout == [0x63, 0x61, 0x66, 0xE9, 0xFF])
        let dir = s.file(OSBytes.decode(Array("b".utf8) + [0xE9] + Array("n".utf8)))
        _ = withOSBytes(dir) { mkdir($0, 0o755) }
        let fd = withOSBytes(dir + "/airun-test-tool") { open($0, O_WRONLY | O_CREAT, 0o755) }
        _ = write(fd, "#!/bin/sh\necho from-tool\n", 25)
        close(fd)
        let path = try airun(["-q", "airun-test-tool"], environment: ["PATH": dir + ":/usr/bin:/bin"], scratch: s)
        #expect(path.stdoutText == "from-tool\n", "\(path.stderr)")
        // The records are JSON: such bytes appear there as U+FFFD.
        let args = try #require(r.records("run.start").first?["command_args"] as? [String])
        #expect(args.last?.hasSuffix("caf\u{FFFD}.txt") == true, "\(args)")
    }

    @Test("output with CRLF line ends is classified, not crashed on (found by the classifier fuzz target)")
    func crlfOutput() throws {
        let stderr = "loading model\r\nsome line\r\ncudaMalloc failed: out of memory\r\n"
        let verdict = Classifier().classify(AttemptFacts(exitCode: 1, stderr: stderr))
        #expect(verdict?.code == .gpuOutOfMemory)
        #expect(verdict?.evidence.hasPrefix("cudaMalloc failed: out of memory") == true)
        let r = try airun(["-q", "--", "sh", "-c", "printf 'a\\r\\nb\\r\\ncudaMalloc failed: out of memory\\r\\n' >&2; exit 1"])
        #expect(r.exitCode == 1)
        #expect(r.records("error").first?["error_code"] as? String == "GPU_OOM")
    }

    @Test("numbers from outside saturate instead of trapping")
    func saturatingConversions() {
        #expect(Int64(saturating: 1e30) == .max)
        #expect(Int64(saturating: -1e30) == .min)
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int64(saturating: .infinity) == .max)
        #expect(Int64(saturating: 42.9) == 42)
        #expect(LlamaPerformance.parse(stderr: Self.hugePerfLine, stdout: "").tokensGenerated == Int.max)
        #expect(JSONLine.format(1e300, decimals: 1) == "1e+300")
        #expect(JSONLine.format(.infinity, decimals: 1) == "null")
        #expect(ArgumentEdit(on: "GPU_OOM", argument: "-ngl", aliases: [], scale: 1e19).apply(to: "99") == String(Int64.max))
    }

    @Test("a hostile GGUF header (overflowing offsets, arrays nested 100,000 deep) is judged, not crashed on")
    func hostileModelFile() throws {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let header = Array("GGUF".utf8) + le(3, 4)
        let overflow = header + le(1, 8) + le(0, 8) + le(1, 8) + [0x74] + le(1, 4) + le(1 << 62, 8) + le(0, 4) + le(.max - 15, 8)
        var nested = header + le(0, 8) + le(1, 8) + le(1, 8) + [0x6B] + le(9, 4)
        for _ in 0..<100_000 { nested += le(9, 4) + le(1, 8) }
        // Found by the fuzzer: shorter than the fixed header; a first key length near 2^64.
        #expect(dataExtent(Array("GGUF".utf8)) == nil)
        #expect(dataExtent([]) == nil)
        let hugeKey = Array("GGUF".utf8) + le(3, 4) + le(1, 8) + le(1, 8) + le(.max, 8) + Array(repeating: 0x41, count: 40)
        #expect(GGUFCheck.inspect(header: hugeKey, size: Int64(hugeKey.count)).architecture == nil)
        let s = Scratch()
        for (name, bytes) in [("overflow.gguf", overflow), ("nested.gguf", nested)] {
            let model = s.write(name, bytes + Array(repeating: 0, count: 64))
            #expect(dataExtent(bytes) == nil || dataExtent(bytes)!.required > 0)
            let r = try airun(["-q", "--", "sh", "-c", "exit 1", "-m", model])
            #expect(r.exitCode == 1, "\(name): \(r.stderr)")
            #expect(r.records("error").count == 1, "\(name)")
        }
    }

    @Test("profile numbers out of range are errors naming file and line; attempt = \"0s\" is no timeout")
    func profileRanges() throws {
        let s = Scratch()
        let cases = [
            ("[fallback]\n[[fallback.edit]]\non = \"GPU_OOM\"\nargument = \"-ngl\"\nscale = 1e19\n", ":5:", "scale must be above 0"),
            ("[timeout]\nattempt = 10000000000000000000\n", ":2:", "not"),
            ("[timeout]\nattempt = 9999999999\n", ":2:", "must be from 0 to 9000000000 seconds"),
            ("[timeout]\nattempt = \"99999999999h\"\n", ":2:", "is not a duration"),
            ("[capture]\nbytes = 9223372036854775807\n", ":2:", "at most 16M"),
        ]
        for (index, (text, line, message)) in cases.enumerated() {
            let file = s.write("p\(index).toml", Array(text.utf8))
            let r = try airun(["--profile", file, "--", "true"], scratch: s)
            #expect(r.exitCode == 125, "\(text)")
            #expect(r.stderr.contains(file + line) && r.stderr.contains(message), "\(text): \(r.stderr)")
        }
        let zero = s.write("zero.toml", Array("[timeout]\nattempt = \"0s\"\n".utf8))
        let dry = try airun(["--dry-run", "--profile", zero, "--", "true"], scratch: s)
        #expect(dry.stdoutText.contains("timeout:      none"), "\(dry.stdoutText)")
    }

    @Test("hostile profiles: deep nesting and long dotted keys are errors, not stack overflows; control bytes are escaped")
    func hostileProfiles() throws {
        let s = Scratch()
        let cases: [(String, String)] = [
            ("a = " + String(repeating: "[", count: 30_000) + "\n", "nested more than 64 deep"),
            ("a = " + String(repeating: "{a=", count: 30_000) + "\n", "nested more than 64 deep"),
            (Array(repeating: "a", count: 60_000).joined(separator: ".") + " = 1\n", "more than 32 parts"),
            ("[" + Array(repeating: "t", count: 60_000).joined(separator: ".") + "]\n", "more than 32 parts"),
            ("\"\\u001b[2J\\u001b[31mkey\" = 1\n", "unknown key '\\u{1b}[2J\\u{1b}[31mkey'"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let file = s.write("h\(index).toml", Array(text.utf8))
            let r = try airun(["profile", "check", file], scratch: s)
            #expect(r.exitCode == 125, "case \(index): \(r.status)")
            #expect(r.stderr.contains(message), "case \(index): \(r.stderr.prefix(300))")
            #expect(!r.stderr.contains("\u{1B}"), "a raw escape reached the terminal")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        // Invalid UTF-8 in a comment or a string is named, not turned into U+FFFD without a word.
        for (name, bytes, place) in [("comment.toml", Array("# caf".utf8) + [0xE9] + Array("\n[retry]\nattempts = 2\n".utf8), "comment.toml:1:6: "),
                                     ("string.toml", Array("[retry]\nbackoff = \"fix".utf8) + [0xC0, 0xAF] + Array("ed\"\n".utf8), "string.toml:2:15: "),
                                     ("surrogate.toml", Array("# ".utf8) + [0xED, 0xA0, 0x80] + [0x0A], "surrogate.toml:1:3: ")] {
            let r = try airun(["profile", "check", s.write(name, bytes)], scratch: s)
            #expect(r.exitCode == 125 && r.stderr.contains(place) && r.stderr.contains("not UTF-8"), "\(name): \(r.stderr)")
        }
        #expect(try airun(["profile", "check", s.write("ok.toml", Array("# café ✓ 🚀\n[retry]\nattempts = 2\n".utf8))], scratch: s).exitCode == 0)
        // A bad byte at the end of a large file is found and named by line, in linear time.
        let late = s.write("late.toml", Array(String(repeating: "# comment\n", count: 50_000).utf8) + [0x61, 0x3D, 0xFF, 0x0A])
        let r = try airun(["profile", "check", late], scratch: s)
        #expect(r.stderr.contains("late.toml:50001:3: "), "\(r.stderr)")
    }

    @Test("a profile or config.toml over 1 MiB is refused with a clear error, never cut (settings past the cut were ignored)")
    func oversizedSettings() throws {
        let s = Scratch()
        // A valid file whose last setting lies past 1 MiB: reading a cut copy would miss it and say ok.
        let padding = Array(String(repeating: "# a comment line that pads the file out\n", count: 27_000).utf8)
        #expect(padding.count > 1 << 20)
        let profile = s.write("big.toml", padding + Array("[retry]\nattempts = 2\n".utf8))
        let check = try airun(["profile", "check", profile], scratch: s)
        #expect(check.exitCode == 125, "\(check.stderr)")
        #expect(check.stderr.contains("big.toml: the profile file is larger than 1 MiB"), "\(check.stderr)")
        #expect(check.stderr.split(separator: "\n").count == 1)
        let run = try airun(["--profile", profile, "--", "true"], scratch: s)
        #expect(run.exitCode == 125 && run.stderr.contains("larger than 1 MiB"), "\(run.stderr)")

        try FileManager.default.createDirectory(atPath: s.file("config/airun"), withIntermediateDirectories: true)
        _ = s.write("config/airun/config.toml", padding + Array("[log]\nretain_days = 3\n".utf8))
        let config = try airun(["config", "check"], environment: ["XDG_CONFIG_HOME": s.file("config")], scratch: s)
        #expect(config.exitCode == 125 && config.stderr.contains("config.toml: the configuration file is larger than 1 MiB"), "\(config.stderr)")
        // Exactly at the limit is still read.
        let setting = Array("[retry]\nattempts = 2\n".utf8)
        let comment = Array(("#" + String(repeating: "x", count: (1 << 20) - setting.count - 2) + "\n").utf8)
        let edge = s.write("edge.toml", comment + setting)
        #expect(try airun(["profile", "check", edge], scratch: s).exitCode == 0)
    }

    @Test("a command line that only airun's trace variables push over the kernel's limit says so; 126 as a shell gives")
    func argumentListTooLong() throws {
        // Held to the end: a temporary `Scratch()` was removed at once, and the airun runs below
        // made its directory again and left it in /tmp.
        let logs = Scratch()
        let environment = Airun.environment(logDirectory: logs.path).map { "\($0.key)=\($0.value)" }
        func arguments(_ total: Int) -> [String] {
            stride(from: 0, to: total, by: 100_000).map { String(repeating: "x", count: min(100_000, total - $0)) }
        }
        func fits(_ total: Int) -> Bool {
            guard let pid = try? spawn(path: "/bin/true", arguments: ["/bin/true"] + arguments(total), environment: environment,
                                       configuration: SpawnConfiguration()) else { return false }
            _ = try? waitForExit(pid)
            return true
        }
        // The most argument bytes /bin/true can take here, to the byte.
        var low = 100_000, high = 8_000_000
        // 100 kB of arguments fit on every Linux (ARG_MAX is at least 128 kB): if they do not,
        // the bisection below has no lower end, and that is a failure, not a pass.
        try #require(fits(low), "/bin/true cannot take 100 kB of arguments here")
        while !fits(high) && high > low + 1 {
            let mid = (low + high) / 2
            if fits(mid) { low = mid } else { high = mid }
        }
        // airun's own argv and environment are longer than true's (its path, "--", "/logs"): leave
        // room for that, far less than the ~300 bytes of trace variables it gives the child.
        let margin = 2 * (Airun.path.utf8.count + 1) + 3 + 2 * 8 + 5 + 40  // the path twice: argv[0] and the file name
        let r = try airun(["--", "/bin/true"] + arguments(low - margin))
        #expect(r.exitCode == 126, "\(r.stderr.prefix(300))")
        #expect(r.stderr.contains("Argument list too long (the arguments and environment exceed the kernel's limit; airun's trace variables add"),
                "\(r.stderr.suffix(300))")
    }

    @Test("airun classify reads the tail a run would keep, not a whole 20 MB log")
    func classifyReadsTheTail() throws {
        let s = Scratch()
        let filler = Array(repeating: Array("llama_model_loader: - kv  12: some.key str = value\n".utf8), count: 400_000).flatMap { $0 }
        let early = s.write("early.txt", Array("cudaMalloc failed: out of memory\n".utf8) + filler)
        let late = s.write("late.txt", filler + Array("cudaMalloc failed: out of memory\n".utf8))
        let e = try airun(["classify", "--stderr", early, "--exit-code", "1"])
        let l = try airun(["classify", "--stderr", late, "--exit-code", "1"])
        #expect(e.stdoutText.contains("NONZERO_EXIT"), "evidence beyond the kept tail counts as in a run: \(e.stdoutText)")
        #expect(l.stdoutText.contains("GPU_OOM"), "\(l.stdoutText)")
    }

    @Test("--capture-bytes beyond 16M is refused with a clear error")
    func captureBytesCap() throws {
        let r = try airun(["--capture-bytes", "9223372036854775807", "--", "true"])
        #expect(r.exitCode == 125)
        #expect(r.stderr.contains("more than the 16M"))
        #expect(try airun(["-q", "--capture-bytes", "16M", "--", "true"]).exitCode == 0)
    }
}

@Suite("where records go, and what a hostile log directory cannot do", .timeLimit(.minutes(1)), .offPool)
struct LogLocationTests {
    @Test("logs --follow reads what a writer appends while it reads once: the offset moves by the bytes read")
    func followReadsAppendsOnce() throws {
        let s = Scratch()
        let path = s.write("airun-20261203.jsonl", Array("one\ntwo\n".utf8))
        let appender = try #require(FileHandle(forWritingAtPath: path))
        var offset: Int64 = 0, read: [UInt8] = [], appended = false
        // The writer appends between the reader's size check and its reads, as a run does under load.
        RecordFiles.readAppended(to: path, from: &offset) { chunk in
            read += chunk
            if !appended {
                appended = true
                appender.seekToEndOfFile()
                appender.write(Data("three\n".utf8))
            }
        }
        RecordFiles.readAppended(to: path, from: &offset) { read += $0 }
        appender.write(Data("four\n".utf8))
        RecordFiles.readAppended(to: path, from: &offset) { read += $0 }
        RecordFiles.readAppended(to: path, from: &offset) { read += $0 }
        #expect(String(decoding: read, as: UTF8.self) == "one\ntwo\nthree\nfour\n")
        #expect(offset == 19)
    }

    @Test("without HOME, records go under the user's passwd home or a private /tmp/airun-UID, never a shared path")
    func noHome() {
        let dir = resolveLogDirectory(flag: nil, environment: [:])
        #expect(!dir.hasPrefix("/tmp/.local"))
        #expect(dir.hasSuffix("/.local/state/airun/logs") || dir == "/tmp/airun-\(getuid())/logs", "\(dir)")
        let s = Scratch()
        #expect(resolveLogDirectory(flag: nil, environment: ["HOME": "", "XDG_STATE_HOME": s.path]) == s.path + "/airun/logs")
        #expect(resolveLogDirectory(flag: nil, environment: ["HOME": s.path]) == s.path + "/.local/state/airun/logs")
    }

    @Test("a HOME (or XDG_STATE_HOME) that does not exist is not created: records go to the passwd home or /tmp/airun-UID")
    func missingHome() {
        let s = Scratch()
        let missing = s.file("nonexistent") + "/x"
        for env in [["HOME": missing], ["HOME": missing, "XDG_STATE_HOME": missing + "/state"]] {
            let dir = resolveLogDirectory(flag: nil, environment: env)
            #expect(!dir.hasPrefix(missing), "\(dir)")
        }
        // (Not run end to end: the records would land in this machine's real passwd home.)
        #expect(!FileManager.default.fileExists(atPath: s.file("nonexistent")))
    }

    @Test("a log directory others can write to is refused with one warning; the command runs unchanged")
    func sharedDirectoryRefused() throws {
        let s = Scratch()
        let shared = s.file("shared")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o777)
        let r = try airun(["--log-dir", shared, "--", "sh", "-c", "echo ran; exit 4"], scratch: s)
        #expect(r.exitCode == 4 && r.stdoutText == "ran\n")
        #expect(r.stderr.contains("not writing records to \(shared): others can write to it"), "\(r.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: shared)) ?? []).isEmpty)
        // -q (cron's choice) silences the summary, not the one warning that the records are lost.
        let quiet = try airun(["-q", "--log-dir", shared, "--", "sh", "-c", "echo ran; exit 4"], scratch: s)
        #expect(quiet.exitCode == 4 && quiet.stdoutText == "ran\n")
        #expect(quiet.stderr.hasPrefix("airun: warning: not writing records to \(shared): others can write to it") && quiet.stderr.split(separator: "\n").count == 1,
                "\(quiet.stderr)")
    }

    @Test("under ulimit -f below today's record file: one warning, the command runs, and its own SIGXFSZ is as without airun")
    func fileSizeLimit() throws {
        let s = Scratch()
        let logs = s.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let day = utcDayStamp(microseconds: wallClockMicroseconds())
        _ = s.write("logs/airun-\(day).jsonl", Array(String(repeating: "{\"padding\":1}\n", count: 1000).utf8))
        var env = Airun.environment(logDirectory: logs)
        env["PWD"] = nil
        let command = "cd \(s.path) && ulimit -f 8 && "  // 4 KiB in 512-byte blocks, below the 14 KB file
        let inner = "sh -c 'echo ran; head -c 9000 /dev/zero > big; echo status=$?'"
        let bare = runTool(["env", "-i"] + env.map { "\($0.key)=\($0.value)" } + ["sh", "-c", command + inner])
        let wrapped = runTool(["env", "-i"] + env.map { "\($0.key)=\($0.value)" } + ["sh", "-c", command + "airun -- " + inner + "; echo airun=$?"])
        #expect(bare.output.contains("ran\n") && bare.output.contains("status=153"), "\(bare.output)")
        #expect(wrapped.output.contains("ran\n") && wrapped.output.contains("status=153") && wrapped.output.contains("airun=0"), "\(wrapped.output)")
        #expect(wrapped.output.components(separatedBy: "cannot write records").count == 2, "one warning: \(wrapped.output)")
    }

    @Test("a FIFO named like a record file: the writer says the records are lost, every reader skips it with a warning")
    func fifoRecordFile() throws {
        let s = Scratch()
        let logs = s.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        _ = try airun(["-q", "--", "true"], environment: ["AIRUN_LOG_DIR": logs], scratch: s)  // yesterday's stand-in, readable
        let old = try #require(try FileManager.default.contentsOfDirectory(atPath: logs).first { $0.hasSuffix(".jsonl") })
        try FileManager.default.moveItem(atPath: logs + "/" + old, toPath: logs + "/airun-20000101.jsonl")
        let day = utcDayStamp(microseconds: wallClockMicroseconds())
        #expect(mkfifo("\(logs)/airun-\(day).jsonl", 0o600) == 0)
        let run = try airun(["-q", "--", "sh", "-c", "echo ran"], environment: ["AIRUN_LOG_DIR": logs], scratch: s)
        #expect(run.exitCode == 0 && run.stdoutText == "ran\n")
        #expect(run.stderr.contains("cannot write records") && run.stderr.contains("not a regular file"), "\(run.stderr)")
        for reader in [["logs"], ["stats"], ["trace", "0123456789abcdef0123456789abcdef"], ["report", "--html", s.file("r.html")],
                       ["metrics", "--from-records"]] {
            let r = try AirunProcess.start(reader + ["--log-dir", logs], scratch: Scratch()).wait()
            #expect(r.stderr.contains("skipping \(logs)/airun-\(day).jsonl: not a regular file"), "\(reader): \(r.status) \(r.stderr)")
        }
        let stats = try airun(["stats", "--log-dir", logs, "--json"], scratch: Scratch())
        #expect(stats.exitCode == 0 && stats.stdoutText.contains("\"attempts\":1,"), "the readable file is read: \(stats.stdoutText.prefix(300))")
    }

    @Test("a record file planted as a symbolic link is not followed")
    func plantedLink() throws {
        let s = Scratch()
        let logs = s.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let victim = s.write("victim", Array("precious\n".utf8))
        let day = utcDayStamp(microseconds: wallClockMicroseconds())
        try FileManager.default.createSymbolicLink(atPath: "\(logs)/airun-\(day).jsonl", withDestinationPath: victim)
        let r = try airun(["--", "true"], scratch: s)
        #expect(r.exitCode == 0)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(r.stderr.contains("cannot write records"), "\(r.stderr)")
    }

    @Test("a record torn by a full disk is closed off: the next records are whole lines")
    func tornRecord() throws {
        let s = Scratch()
        let logs = s.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let day = utcDayStamp(microseconds: wallClockMicroseconds())
        let file = s.write("logs/airun-\(day).jsonl", Array("{\"event\":\"run.start\",\"torn".utf8))
        _ = try airun(["-q", "--", "true"], scratch: s)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "{\"event\":\"run.start\",\"torn")
        #expect(lines.count == 5)
        for line in lines.dropFirst() {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line.prefix(80))")
        }
    }
}
