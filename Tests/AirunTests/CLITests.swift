@testable import AirunCLI
import AirunCore
import Foundation
import Testing

/// The command line a new user meets first: help, mistakes, the version.
@Suite("command-line help and mistakes", .timeLimit(.minutes(1)), .offPool)
struct CLITests {
    @Test("airun help, airun help CMD, and -h/--help after every subcommand print help and exit 0", arguments: [
        (["help"], "usage: airun [options]"), (["--help"], "usage: airun [options]"), (["-h"], "usage: airun [options]"),
        (["help", "classify"], "airun classify:"), (["classify", "--help"], "airun classify:"), (["classify", "-h"], "airun classify:"),
        (["classify", "--stderr", "x", "--help"], "airun classify:"),
        (["help", "profile"], "airun profile:"), (["profile", "--help"], "airun profile:"), (["profile", "show", "-h"], "airun profile:"),
        (["help", "gpu"], "airun gpu:"), (["gpu", "--help"], "airun gpu:"),
    ])
    func help(args: [String], first: String) throws {
        let r = try airun(args)
        #expect(r.exitCode == 0, "\(args): \(r.stderr)")
        #expect(r.stdoutText.contains(first), "\(args)")
        #expect(r.records.isEmpty)
    }

    /// Found in review: the help of six commands printed `\(usage)` literally (an escaped
    /// interpolation); each must print its usage line.
    @Test("every command's help shows its usage line, with nothing left uninterpolated",
          arguments: ["classify", "profile", "gpu", "config", "stats", "logs", "trace", "report", "metrics", "export"])
    func helpUsage(command: String) throws {
        let r = try airun(["help", command])
        #expect(r.exitCode == 0)
        #expect(r.stdoutText.contains("usage: airun \(command)"), "\(r.stdoutText)")
        #expect(!r.stdoutText.contains("\\("), "\(r.stdoutText)")
    }

    @Test("--help names the environment variables, shows examples, and lists every option")
    func helpContents() throws {
        let text = try airun(["--help"]).stdoutText
        for part in ["AIRUN_LOG_DIR", "AIRUN_PROFILE", "AIRUN_TAGS", "AIRUN_MODEL_ID", "TRACE_ID", "examples:", "airun classify --stderr"] {
            #expect(text.contains(part), "\(part)")
        }
        for name in runOptions.flatMap(\.names) { #expect(text.contains(name), "\(name) missing from --help") }
    }

    @Test("airun help for an unknown topic is an error naming the commands")
    func unknownTopic() throws {
        let r = try airun(["help", "clasify"])
        #expect(r.exitCode == 125)
        #expect(r.stderr.contains("did you mean classify?"))
    }

    @Test("a switch given a value is an error; an unknown option suggests the nearest", arguments: [
        (["--quiet=yes", "true"], "option --quiet takes no value"), (["--dry-run=1", "true"], "option --dry-run takes no value"),
        (["--timout", "3", "true"], "unknown option '--timout' (did you mean --timeout?)"),
        (["--fallback-modle=x", "true"], "unknown option '--fallback-modle=x' (did you mean --fallback-model?)"),
        (["--zzzzzzzz", "true"], "unknown option '--zzzzzzzz'\n"),
    ])
    func mistakes(args: [String], message: String) throws {
        let r = try airun(args)
        #expect(r.exitCode == 125)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test("--version prints the version and the commit the binary was built from")
    func version() throws {
        let r = try airun(["--version"])
        #expect(r.exitCode == 0)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let git = try AirunProcess.start(["-q", "--", "git", "-C", root.path, "rev-parse", "--short=12", "HEAD"], scratch: Scratch()).wait()
        let commit = git.exitCode == 0 ? git.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
        #expect(r.stdoutText == "airun \(airunVersion) (commit \(commit))\n")
    }

    @Test("the profile of `/usr/bin/env python3 router.py` is router's, as for `python3 router.py`", arguments: [
        ["/usr/bin/env", "python3", "router.py"], ["env", "-i", "A=1", "python3", "-u", "router.py", "x"], ["python3", "router.py"],
        ["/usr/bin/env", "-u", "HOME", "./router.py"],
    ])
    func envCommand(command: [String]) throws {
        let s = Scratch()
        let dir = s.file("profiles")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = s.write("profiles/router.toml", Array("description = \"the router\"\n".utf8))
        let r = try airun(["--dry-run", "--"] + command, environment: ["AIRUN_PROFILE_PATH": dir], scratch: s)
        #expect(r.stdoutText.hasPrefix("profile:      router ("), "\(r.stdoutText)")
    }

    @Test("the nearest option is within a few edits, never a wild guess")
    func nearest() {
        #expect(nearestOption("--retires", among: ["--retries", "--tty"]) == "--retries")
        #expect(nearestOption("--x", among: ["--retries", "--timeout"]) == nil)
        #expect(editDistance("kitten", "sitting") == 3)
    }
}

@Suite("config: one set of names", .offPool)
struct ConfigNamesTests {
    @Test("docs/records.md's settings table is the one airun is built from")
    func docsTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let page = try String(contentsOf: root.appendingPathComponent("docs/records.md"), encoding: .utf8)
        let table = settingsTableMarkdown()
        #expect(page.contains(table), "docs/records.md should hold, verbatim:\n\(table)")
        try? table.write(toFile: NSTemporaryDirectory() + "airun-settings-table.md", atomically: true, encoding: .utf8)
    }

    @Test("each setting is read from config.toml and from its variable by one reader, with the same judgement")
    func fileAndVariableAgree() throws {
        for setting in Setting.inFile {
            let (table, key) = try #require(setting.tableAndName)
            // The example value is accepted both ways, and a value of the wrong kind refused both ways.
            let fromFile = try ConfigFile.decode("[\(table)]\n\(key) = \(setting.example)\n", file: "c.toml")
            var fromVariable = ConfigFile()
            let warnings = fromVariable.applyEnvironment([setting.variable: setting.example.replacingOccurrences(of: "\"", with: "")])
            #expect(warnings.isEmpty, "\(setting.variable): \(warnings)")
            #expect(setting.show?(fromFile) == setting.show?(fromVariable), "\(key)")
            #expect(setting.show?(fromFile) != setting.show?(ConfigFile()) || setting.example == setting.defaultText, "\(key): the example changes nothing")
            #expect(fromFile.source(of: setting) == "c.toml:2" && fromVariable.source(of: setting) == setting.variable)
            if key != "dir" && key != "textfile_dir" {
                #expect(throws: ProfileError.self, "\(key)") { try ConfigFile.decode("[\(table)]\n\(key) = \"x\"\n", file: "c.toml") }
                var bad = ConfigFile()
                #expect(bad.applyEnvironment([setting.variable: "x"]).count == 1, "\(setting.variable)")
            }
        }
    }

    @Test("config --help and config show name the same settings")
    func sameNames() throws {
        let help = try airun(["config", "--help"]).stdoutText
        var table = ""
        var helpKeys: Set<String> = []
        for line in help.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("[") && t.contains("]") { table = String(t.dropFirst().prefix { $0 != "]" }) }
            if !table.isEmpty, let eq = t.firstIndex(of: "="), !t.hasPrefix("#") {
                helpKeys.insert(table + "." + t[..<eq].trimmingCharacters(in: .whitespaces))
            }
        }
        let configHome = Scratch()  // held: a temporary one was removed before airun looked in it
        let show = try airun(["config", "show"], environment: ["XDG_CONFIG_HOME": configHome.path]).stdoutText
        let showKeys = Set(show.split(separator: "\n").compactMap { line -> String? in
            let key = line.split(separator: " ").first.map(String.init) ?? ""
            return key.hasPrefix("log.") || key.hasPrefix("export.") ? key : nil
        })
        #expect(!helpKeys.isEmpty && helpKeys == showKeys, "help \(helpKeys.sorted()) vs show \(showKeys.sorted())")
    }
}

@Suite("README", .offPool)
struct ReadmeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the quick start is two commands, and .ci/run runs the second, the test command")
    func quickStart() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Quick start").dropFirst().first)
        let block = try #require(section.components(separatedBy: "```sh\n").dropFirst().first?.components(separatedBy: "```").first)
        let commands = block.split(separator: "\n").map(String.init)
        #expect(commands.count == 2, "\(commands)")
        #expect(commands.first?.contains("examples/toy-model.sh") == true)
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        let test = try #require(commands.last)
        #expect(ci.split(separator: "\n").contains { $0 == test }, ".ci/run does not run `\(test)`")
    }

    @Test("the README says in one line what each shipped profile does on its own: attempts and timeout")
    func shippedProfiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        for name in ShippedProfiles.names {
            let line = try #require(readme.split(separator: "\n").first { $0.hasPrefix("- `\(name)`") }, "no README line for \(name)")
            let text = try #require(ShippedProfiles.text(name))
            let profile = try Profile.decode(String(decoding: text, as: UTF8.self), name: name, file: name)
            #expect(line.contains("\(profile.retry.attempts) attempt"), "\(line)")
            let timeout = profile.timeout.map { "\($0.nanoseconds / 60_000_000_000) min timeout" } ?? "no timeout"
            #expect(line.contains(timeout), "\(line) should say \(timeout)")
        }
    }
}

@Suite("the shipped default profile, built without parsing", .offPool)
struct ShippedDefaultTests {
    @Test("built directly, it is what profiles/default.toml decodes to: the same plan for any command")
    func sameAsTheFile() throws {
        let text = String(decoding: ShippedProfiles.text("default") ?? [], as: UTF8.self)
        let decoded = try Profile.decode(text, name: "default", file: ProfileLocation.builtIn("default").description)
        let built = ProfileLocator.shippedDefault
        #expect(built.source == decoded.source && built.description == decoded.description)
        #expect(built.retry == decoded.retry && built.timeout == decoded.timeout && built.killAfter == decoded.killAfter)
        #expect(built.captureBytes == decoded.captureBytes && built.sampleInterval == decoded.sampleInterval)
        #expect(built.rules.isEmpty && decoded.rules.isEmpty && decoded.redactionPatterns.isEmpty && decoded.tags == built.tags)
        #expect(decoded.cooldown == nil && built.cooldown == nil && decoded.childLogs == built.childLogs)
        for command in [["true"], ["sh", "-c", "exit 3"], ["python3", "x.py", "-m", "m.gguf"]] {
            #expect(RunSettings(profile: built, options: RunOptions()).describe(command: command)
                    == RunSettings(profile: decoded, options: RunOptions()).describe(command: command))
        }
    }
}

@Suite("trace reads a command's log lines by projection", .offPool)
struct TraceProjectionTests {
    @Test("the text tree of a router session is the same whether its log lines are decoded whole or projected")
    func sameTree() throws {
        let s = Scratch()
        let profile = s.write("router.toml", Array("[child_logs]\nformat = \"json\"\n".utf8))
        let script = #"for i in 1 2 3; do printf '{"level":"warning","message":"step %s","model":"m","n":[1,2]}\n' $i >&2; done; exit 3"#
        _ = try airun(["--profile", profile, "--trace-id", "4bf92f3577b34da6a3ce929d0e0e4736", "--", "sh", "-c", script], scratch: s)
        let shown = try airun(["trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--log-dir", s.file("logs")], scratch: Scratch()).stdoutText
        let records = readRecords(in: s.file("logs")).compactMap { object -> Record? in
            guard let data = try? JSONSerialization.data(withJSONObject: object) else { return nil }
            return try? Record(line: ArraySlice([UInt8](data)))
        }
        #expect(records.filter { if case .childLog = $0.event { true } else { false } }.count == 3)
        let whole = TraceCommand.text(TraceTree(traceID: TraceID("4bf92f3577b34da6a3ce929d0e0e4736")!, records: records))
        #expect(shown == whole, "\(shown)\n---\n\(whole)")
        #expect(shown.contains("log ") && shown.contains("warning step 3"), "\(shown)")
    }
}
