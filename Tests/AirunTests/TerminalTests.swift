import Foundation
import Testing

/// What a person at a terminal sees and does, with and without airun, in a real terminal (tmux).
/// Each scenario runs for the bare command first and then under airun, and the two must agree.
/// Skipped (and reported so) without tmux, except where AIRUN_REQUIRE_TERMINAL=1 (CI): there
/// they run and fail.
@Suite("on a real terminal, airun changes nothing",
       .enabled(if: TerminalSession.available || TerminalSession.required, "tmux is not installed (apt-get install tmux)"),
       .serialized, .timeLimit(.minutes(3)), .offPool)
struct TerminalTests {
    /// The two ways of running a command that must look the same.
    static let prefixes = ["", "airun -q -- "]

    @Test("a sentence streamed without newlines stays intact with the status line on")
    func streamedText() throws {
        for prefix in ["", "airun --sample-interval 100ms -- "] {
            let t = try TerminalSession()
            t.run(prefix + #"sh -c "printf 'The sky is '; sleep 1.2; printf 'blue because'; sleep 1.2; printf ' of scattering.\n'""#)
            #expect(t.waitFor("of scattering.\n"), "\(t.screen)")
            #expect(t.screen.contains("The sky is blue because of scattering.\n"), "\(prefix): \(t.screen)")
        }
    }

    @Test("the status line is drawn between lines, erased before the next one, and off when asked")
    func statusLine() throws {
        let command = "sh -c 'echo first; sleep 1.6; echo second'"
        let t = try TerminalSession()
        // The second line waits for the test to see the status line, however slow the machine.
        let go = t.scratch.file("go")
        t.run("airun --no-gpu --sample-interval 100ms -- sh -c 'echo first; until [ -e \(go) ]; do sleep 0.1; done; echo second'")
        #expect(t.waitFor("airun: 1s  rss "), "the status line never appeared: \(t.screen)")
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(t.waitFor("exit=0"))
        let lines = t.screen.split(separator: "\n").map(String.init)
        let first = try #require(lines.firstIndex(of: "first"))
        #expect(Array(lines[first...].prefix(2)) == ["first", "second"], "\(lines)")
        #expect(!t.screen.contains("rss "), "not erased: \(t.screen)")

        for (option, environment) in [("-q ", [:]), ("--no-status ", [:]), ("", ["AIRUN_STATUS": "0"]), ("", ["TERM": "dumb"])] {
            let off = try TerminalSession(environment: environment)
            off.run("airun \(option)--no-gpu --sample-interval 100ms -- \(command); echo do\"\"ne")
            var seen = false
            _ = eventually(within: 6) {
                let screen = off.screen
                seen = seen || screen.contains("rss ")
                return screen.contains("done\n")
            }
            #expect(!seen, "status line drawn with \(option)\(environment)")
        }
    }

    /// A plain program, a Python script (SIGINT becomes KeyboardInterrupt, then death by SIGINT),
    /// and a shell running a program.
    /// `ready`: what shows that the child is past its start-up (Python turns SIGINT into
    /// KeyboardInterrupt only once its handler is installed).
    static let interruptible: [(command: String, process: String, ready: String?)] = [
        ("sleep 5", "sleep", nil),
        (#"python3 -c 'import time; print("rea" "dy", flush=True); time.sleep(5)'"#, "python3", "ready\n"),
        ("sh -c 'sleep 5; echo inner'", "sleep", nil),
    ]

    @Test("Ctrl-C ends a for loop as it does without airun", arguments: 0..<interruptible.count)
    func ctrlCEndsLoop(kind: Int) throws {
        let (command, process, ready) = Self.interruptible[kind]
        var outcomes: [String] = []
        for prefix in Self.prefixes {
            let t = try TerminalSession()
            t.run("for i in 1 2; do \(prefix)\(command); echo \"loop-$i\"; done")
            #expect(t.waitForProcess(process), "\(t.screen)")
            if let ready { #expect(t.waitFor(ready)) }
            t.press("C-c")
            // The next line is typed at the next prompt, not into the loop that Ctrl-C ends.
            #expect(t.waitFor("$ ", count: 2), "\(t.screen)")
            t.run("echo \"st\"\"atus:$?\"")
            #expect(t.waitFor("status:"))
            let screen = t.screen
            outcomes.append((screen.contains("loop-1\n") ? "loop went on" : "loop ended") + ", " +
                            (screen.split(separator: "\n").first { $0.hasPrefix("status:") }.map(String.init) ?? "?"))
        }
        #expect(outcomes[0] == "loop ended, status:130", "bare: \(outcomes[0])")
        #expect(outcomes[1] == outcomes[0], "\(command)")
    }

    @Test("Ctrl-Z stops airun and the child as one job; jobs, bg and fg work")
    func ctrlZ() throws {
        var transcripts: [[String]] = []
        for prefix in Self.prefixes {
            let t = try TerminalSession()
            // The job ends when the test says so, not after a sleep: on a busy machine a timed job
            // could finish in the background before `jobs` or `fg` were typed.
            let go = t.scratch.file("go")
            t.run("\(prefix)sh -c 'until [ -e \(go) ]; do sleep 0.1; done; echo fin\"\"ished'")
            #expect(t.waitForProcess("sleep"))
            t.press("C-z")
            #expect(t.waitFor("Stopped", count: 1), "\(t.screen)")
            #expect(eventually(within: 5) { t.jobProcesses.allSatisfy { $0.state == "T" } }, "\(t.jobProcesses)")
            #expect(!t.jobProcesses.isEmpty)
            // Each keystroke waits for the output of the one before.
            t.run("jobs")
            #expect(t.waitFor("Stopped", count: 2), "\(t.screen)")
            t.run("bg")
            #expect(t.waitFor("' &\n", count: 1), "\(t.screen)")
            #expect(eventually(within: 5) { t.jobProcesses.allSatisfy { $0.state != "T" } }, "\(t.jobProcesses)")
            t.run("jobs")
            #expect(t.waitFor("Running", count: 1), "\(t.screen)")
            t.run("fg")
            #expect(t.waitFor("ished'\n", count: 4), "fg names the job: \(t.screen)")
            _ = FileManager.default.createFile(atPath: go, contents: nil)
            #expect(t.waitFor("finished\n", within: 10))
            t.run("echo \"st\"\"atus:$?\"")
            #expect(t.waitFor("status:"))
            // The job table's words, without the command (which differs by the prefix).
            transcripts.append(t.screen.split(separator: "\n").compactMap { line in
                if line.hasPrefix("status:") || line == "finished" { return String(line) }
                guard line.hasPrefix("[1]") else { return nil }
                return ["Stopped", "Running", "Done"].first { line.contains($0) } ?? "[1] " + (line.hasSuffix("&") ? "&" : "")
            })
        }
        #expect(transcripts[0] == ["Stopped", "Stopped", "[1] &", "Running", "finished", "status:0"], "bare: \(transcripts[0])")
        #expect(transcripts[1] == transcripts[0])
    }

    @Test("typeahead reaches the shell after the command")
    func typeahead() throws {
        for prefix in Self.prefixes {
            let t = try TerminalSession()
            t.type("\(prefix)sleep 1\necho type\"\"ahead-ran\n")
            #expect(t.waitFor("typeahead-ran\n", within: 8), "\(prefix): \(t.screen)")
        }
    }

    @Test("a background airun leaves the terminal's modes alone")
    func backgroundJob() throws {
        for prefix in Self.prefixes {
            let t = try TerminalSession()
            t.run("stty -g > before; \(prefix)sleep 2 & sleep 0.7; stty -g > after; wait; "
                  + "cmp -s before after && echo mo\"\"des-same || echo mo\"\"des-changed")
            #expect(t.waitFor("modes-", within: 8))
            #expect(t.screen.contains("modes-same\n"), "\(prefix): \(t.screen)")
        }
    }

    @Test("reading a piped stdin under script(1) returns, as without airun")
    func pipedRead() throws {
        var outputs: [String] = []
        // Held to the end: a `Scratch()` made in the call below was gone (its directory removed)
        // before airun ran, which made the directory again and left it in /tmp.
        let logs = Scratch()
        for prefix in Self.prefixes {
            let inner = "\(prefix)sh -c 'read a; read b; echo got:$a:$b'"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "printf 'hello\\nworld\\n' | timeout 15 script -qc \(TerminalSession.quote(inner)) /dev/null"]
            p.environment = Airun.environment(logDirectory: logs.path)
            let out = Pipe()
            p.standardOutput = out
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(prefix): exit \(p.terminationStatus)")
            outputs.append(String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init) ?? "")
        }
        #expect(outputs[0] == "got:hello:world")
        #expect(outputs[1] == outputs[0])
    }
}
