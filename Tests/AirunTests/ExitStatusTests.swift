import AirunCore
import AirunSystem
import Foundation
import Testing

@Suite("exit status and errors", .timeLimit(.minutes(2)), .offPool)
struct ExitStatusTests {
    @Test("127 for a missing command, with one airun line and records")
    func notFound() throws {
        let r = try airun(["--", "no-such-command-airun"])
        #expect(r.exitCode == 127)
        #expect(r.stderr.hasPrefix("airun: no-such-command-airun: command not found\n"))
        let end = try #require(r.records("attempt.end").first)
        #expect(end["status"] as? String == "not_found")
        #expect(end["return_code"] as? Int == 127)
        #expect(r.records("run.end").first?["exit_code"] as? Int == 127)
    }

    @Test("126 for a directory and for a file without the x bit")
    func notExecutable() throws {
        #expect(try airun(["-q", "--", "/tmp"]).exitCode == 126)
        let s = Scratch()
        let file = s.write("script.sh", Array("#!/bin/sh\necho hi\n".utf8))
        let r = try airun(["--", file], scratch: s)
        #expect(r.exitCode == 126)
        #expect(r.stderr.contains("Permission denied") || r.stderr.contains("permission"))
    }

    @Test("a text file without #! runs with /bin/sh, as shells, env and timeout do; a foreign binary stays 126")
    func scriptWithoutShebang() throws {
        let s = Scratch()
        let script = s.write("noshebang", Array("echo ran \"$1\"; exit 5\n".utf8))
        chmod(script, 0o755)
        let r = try airun(["-q", "--", script, "arg1"], scratch: s)
        #expect(r.exitCode == 5)
        #expect(r.stdoutText == "ran arg1\n")
        // The same through env(1), the baseline a shell user knows.
        let viaEnv = try airun(["-q", "--", "env", script, "arg1"])
        #expect(viaEnv.exitCode == 5 && viaEnv.stdoutText == "ran arg1\n")

        let binary = s.write("foreign", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + Array(repeating: 0, count: 56))
        chmod(binary, 0o755)
        let b = try airun(["--", binary], scratch: s)
        #expect(b.exitCode == 126)
        #expect(b.stderr.contains("Exec format error"), "\(b.stderr)")
    }

    @Test("125 with usage for a bad option, no command, or a bad value", arguments: [
        ["--bogus", "true"], [], ["--timeout", "soon", "true"], ["--tty", "maybe", "true"],
        ["--trace-id", "a\nb", "true"], ["--trace-id", String(repeating: "x", count: 300), "true"], ["--capture-bytes"],
        ["--quiet=yes", "true"], ["--timout", "1", "true"],
    ])
    func usage(_ args: [String]) throws {
        let r = try airun(args)
        #expect(r.exitCode == 125)
        #expect(r.stderr.hasPrefix("airun: "))
        #expect(r.stderr.contains("usage: airun"))
        #expect(r.records.isEmpty)
    }

    @Test("the command is looked up in the child's PATH")
    func childPath() throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("bin"), withIntermediateDirectories: true)
        let tool = s.write("bin/airun-test-tool", Array("#!/bin/sh\necho from-tool\n".utf8))
        chmod(tool, 0o755)
        let r = try airun(["-q", "airun-test-tool"], environment: ["PATH": s.file("bin") + ":/usr/bin:/bin"], scratch: s)
        #expect(r.stdoutText == "from-tool\n")
    }

    @Test("a child killed by a signal: 128+N via the same signal, fields kept apart")
    func killedBySignal() throws {
        let r = try airun(["-q", "--", "sh", "-c", "kill -USR1 $$"])
        #expect(r.status == .signaled(Signal(SIGUSR1), coreDumped: false))
        let end = try #require(r.records("attempt.end").first)
        #expect(end["signal"] as? String == "SIGUSR1")
        #expect(end["return_code"] is NSNull)
        #expect(end["exit_code"] as? Int == 128 + Int(SIGUSR1))
        #expect(end["core_dumped"] as? Bool == false)
    }

    @Test("--help and --version exit 0")
    func helpAndVersion() throws {
        #expect(try airun(["--help"]).stdoutText.contains("usage: airun"))
        #expect(try airun(["--version"]).stdoutText.hasPrefix("airun "))
    }
}
