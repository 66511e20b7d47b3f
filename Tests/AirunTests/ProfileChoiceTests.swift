import AirunSystem
import Foundation
import Testing

@Suite("which profile a run gets", .timeLimit(.minutes(2)), .offPool)
struct ProfileChoiceTests {
    @Test("profile show and --dry-run start every value in one column, the description line too")
    func oneColumn() throws {
        for args in [["profile", "show", "llama-completion"], ["--dry-run", "--", "llama-completion", "-m", "/m/x.gguf"]] {
            let lines = try airun(args).stdoutText.split(separator: "\n").prefix(4).map(String.init)
            // The value's column: after `key:` and its padding, or after the description's indent.
            let starts = lines.map { line -> Int in
                let afterKey = line.hasPrefix(" ") ? line.startIndex : line.index(after: line.firstIndex(of: ":") ?? line.startIndex)
                return line.distance(from: line.startIndex, to: line[afterKey...].firstIndex { $0 != " " } ?? line.endIndex)
            }
            #expect(Set(starts).count == 1, "\(args): \(lines)")
        }
    }

    /// The first line of `--dry-run`: `profile:      NAME (WHERE)`.
    static func profileLine(_ r: AirunResult) -> String {
        r.stdoutText.split(separator: "\n").first { $0.hasPrefix("profile:") }.map(String.init) ?? "none in: \(r.stdoutText)"
    }

    @Test("a nested airun chooses by its own command, not by the outer run's exported AIRUN_PROFILE")
    func nestedRun() throws {
        let inner = "airun --dry-run -- llama-completion -m /m/x.gguf"
        let r = try airun(["-q", "--", "sh", "-c", "echo \"child sees $AIRUN_PROFILE\"; \(inner)"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdoutText.hasPrefix("child sees default\n"))
        #expect(Self.profileLine(r).hasPrefix("profile:      llama-completion ("))

        // Set on purpose inside the outer run: a choice, honoured.
        let chosen = try airun(["-q", "--", "sh", "-c", "AIRUN_PROFILE=llama-cli \(inner)"])
        #expect(Self.profileLine(chosen).hasPrefix("profile:      llama-cli ("))
        // Set by the user for the outer run: a choice for it, and it is what the child sees.
        let outer = try airun(["-q", "--", "sh", "-c", "echo $AIRUN_PROFILE"], environment: ["AIRUN_PROFILE": "llama-cli"])
        #expect(outer.stdoutText == "llama-cli\n")
        // An outer run under a profile a nested run does not have: no 125 inside.
        let s = Scratch()
        let router = s.write("router.toml", Array("[retry]\nattempts = 1\n".utf8))
        let fromPath = try airun(["-q", "--profile", router, "--", "sh", "-c", inner], scratch: s)
        #expect(fromPath.exitCode == 0, "\(fromPath.stderr)")
        #expect(Self.profileLine(fromPath).hasPrefix("profile:      llama-completion ("))
    }

    @Test("a copied binary with an empty HOME has the shipped profiles; user and system files override them")
    func copiedBinary() throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: s.file("home"), withIntermediateDirectories: true)
        let copy = s.file("bin/airun")
        try FileManager.default.copyItem(atPath: Airun.path, toPath: copy)
        let bare = ["HOME": s.file("home"), "PATH": "/usr/bin:/bin"]
        func run(_ args: [String], _ env: [String: String] = [:]) throws -> AirunResult {
            try AirunProcess.start(args, scratch: Scratch(), environment: bare.merging(env) { $1 }, executable: copy).wait()
        }

        let list = try run(["profile", "list"])
        for name in ["default", "llama-completion", "llama-cli", "ai-router"] {
            #expect(list.stdoutText.contains("\(name.padding(toLength: 20, withPad: " ", startingAt: 0))built-in copy of profiles/\(name).toml\n"), "\(list.stdoutText)")
        }
        let dry = try run(["--dry-run", "--", "llama-completion", "-m", "/m/x.gguf"])
        #expect(Self.profileLine(dry) == "profile:      llama-completion (built-in copy of profiles/llama-completion.toml)")
        #expect(dry.stdoutText.contains("attempts:     3"), "\(dry.stdoutText)")

        // A user's file of the same name wins, and says so.
        let userDir = s.file("home/.config/airun/profiles")
        try FileManager.default.createDirectory(atPath: userDir, withIntermediateDirectories: true)
        _ = s.write("home/.config/airun/profiles/llama-completion.toml", Array("[retry]\nattempts = 7\n".utf8))
        let overridden = try run(["--dry-run", "--", "llama-completion", "-m", "/m/x.gguf"])
        #expect(Self.profileLine(overridden) == "profile:      llama-completion (\(userDir)/llama-completion.toml)")
        #expect(overridden.stdoutText.contains("attempts:     7"))
        let listed = try run(["profile", "list"])
        #expect(listed.stdoutText.contains("\(userDir)/llama-completion.toml (overrides the built-in one)"))

        // A system directory from XDG_DATA_DIRS, below the user's.
        let system = s.file("share/airun/profiles")
        try FileManager.default.createDirectory(atPath: system, withIntermediateDirectories: true)
        _ = s.write("share/airun/profiles/llama-cli.toml", Array("[retry]\nattempts = 5\n".utf8))
        let fromSystem = try run(["profile", "show", "llama-cli"], ["XDG_DATA_DIRS": s.file("share")])
        #expect(fromSystem.stdoutText.hasPrefix("profile:      llama-cli (\(system)/llama-cli.toml)"), "\(fromSystem.stdoutText)")
        #expect(fromSystem.stdoutText.contains("attempts:     5"))
    }

    @Test("the binary embeds exactly the files of profiles/")
    func embeddedProfilesMatchTheFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = root.appendingPathComponent("profiles").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(files.count >= 4)
        for file in files {
            let name = String(file.dropLast(5))
            let r = try airun(["profile", "show", name], environment: ["HOME": "/nonexistent", "XDG_DATA_DIRS": "/nonexistent"])
            #expect(r.stdoutText.hasPrefix("profile:      \(name) (built-in copy of profiles/\(file))"),
                    "profiles/\(file) is not built in: add it to ShippedProfiles.swift")
        }
        let shown = try airun(["--dry-run", "--profile", "llama-completion", "--", "x"], environment: ["HOME": "/nonexistent"])
        let fromFile = try airun(["--dry-run", "--profile", dir + "/llama-completion.toml", "--", "x"])
        // Same policy from the embedded copy and from the file (only the source differs).
        #expect(shown.stdoutText.split(separator: "\n").dropFirst() == fromFile.stdoutText.split(separator: "\n").dropFirst())
    }
}
