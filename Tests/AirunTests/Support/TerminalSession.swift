import AirunSystem
import Foundation
import Testing

/// A real interactive bash in a real terminal: a tmux session on a private server, typed into
/// with `send-keys` and read with `capture-pane`, for the tests of what a person at a terminal
/// sees and does (Ctrl-C, Ctrl-Z, job control, typeahead, the status line).
final class TerminalSession {
    static let tmux: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var available: Bool { tmux != nil }
    /// CI sets AIRUN_REQUIRE_TERMINAL=1: a missing tmux must fail there, not skip.
    static var required: Bool { ProcessInfo.processInfo.environment["AIRUN_REQUIRE_TERMINAL"] == "1" }

    let scratch: Scratch
    private let server = "airun-test-" + UUID().uuidString.prefix(8).lowercased()

    /// Starts `bash --norc --noprofile` with prompt `$ `, `TERM=xterm-256color`, airun first on
    /// `PATH` and its records in the scratch directory, plus `environment`.
    init(scratch: Scratch = Scratch(), environment: [String: String] = [:]) throws {
        self.scratch = scratch
        var env = ["HOME": scratch.path, "TERM": "xterm-256color", "PS1": "$ ", "LANG": "C.UTF-8",
                   "PATH": Airun.productsDirectory + ":/usr/local/bin:/usr/bin:/bin",
                   "AIRUN_LOG_DIR": scratch.file("logs")]
        for (k, v) in environment { env[k] = v }
        let assignments = env.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quote($0.value))" }.joined(separator: " ")
        // In the scratch directory: what a typed command writes (`stty -g > before`) stays out of the
        // checkout (two such files once landed at the repository root).
        try tmux(read: false, ["-f", "/dev/null", "new-session", "-d", "-c", scratch.path, "-x", "160", "-y", "50",
                  "env -i \(assignments) bash --norc --noprofile"])
        #expect(waitFor("$ "), "no prompt: \(screen)")
    }

    /// Ends the session and waits (up to 5 s) until nothing runs on its terminal any more: bash
    /// writes its history when the hang-up reaches it, an airun in it its last records, and the
    /// scratch directory is removed after this. Removed before, it was left behind (or made again)
    /// by those late writes: two or three directories in /tmp after every run of the suite.
    deinit {
        let terminal = tty
        _ = try? tmux(read: false, ["kill-server"])
        guard !terminal.isEmpty else { return }
        _ = eventually(within: 5) {
            ((try? runTool("/bin/ps", ["-o", "pid=", "-t", terminal], scratch: scratch)) ?? "").allSatisfy(\.isWhitespace)
        }
    }

    /// Single-quotes `s` for the shell.
    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    @discardableResult
    private func tmux(read: Bool = true, _ arguments: [String]) throws -> String {
        try runTool(Self.tmux ?? "/usr/bin/tmux", ["-L", server] + arguments, scratch: scratch)
    }

    /// Types `text` literally.
    func type(_ text: String) { _ = try? tmux(["send-keys", "-l", text]) }
    /// Presses keys by tmux's names: `Enter`, `C-c`, `C-z`.
    func press(_ keys: String...) { _ = try? tmux(["send-keys"] + keys) }
    /// Types a command line and presses Enter.
    func run(_ line: String) { type(line); press("Enter") }

    /// Everything on the screen and in the scrollback, wrapped lines joined.
    var screen: String { (try? tmux(["capture-pane", "-p", "-J", "-S", "-2000"])) ?? "" }

    /// The terminal's device, for finding the processes running on it.
    var tty: String { ((try? tmux(["display-message", "-p", "#{pane_tty}"])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }

    /// `ps` of the processes on this terminal other than the shell: command name and state letter.
    var jobProcesses: [(command: String, state: String)] {
        let listing = (try? runTool("/bin/ps", ["-o", "comm=,stat=", "-t", tty], scratch: scratch)) ?? ""
        return listing.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 2, f[0] != "bash" else { return nil }
            return (String(f[0]), String(f[1].prefix(1)))
        }
    }

    /// Waits until the screen contains `text`.
    func waitFor(_ text: String, within seconds: Double = 10) -> Bool { eventually(within: seconds) { screen.contains(text) } }

    /// Waits until at least `count` lines on the screen contain `text`.
    func waitFor(_ text: String, count: Int, within seconds: Double = 10) -> Bool {
        eventually(within: seconds) { (screen + "\n").components(separatedBy: text).count - 1 >= count }
    }

    /// Waits until a process called `command` runs on the terminal.
    func waitForProcess(_ command: String, within seconds: Double = 10) -> Bool {
        eventually(within: seconds) { jobProcesses.contains { $0.command == command } }
    }

    /// Clears screen and scrollback, so the next assertions see only what follows.
    func clear() {
        run("clear")
        _ = try? tmux(["clear-history"])
        _ = eventually(within: 5) { screen.trimmingCharacters(in: .whitespacesAndNewlines) == "$" }
    }
}

/// Runs a tool to completion and returns its stdout, which goes through a file: a tool that
/// leaves a daemon behind (tmux starting its server) would keep a pipe open forever.
func runTool(_ path: String, _ arguments: [String], scratch: Scratch) throws -> String {
    OffPool.checkBlockingAllowed("running \(path)")
    let file = scratch.file("tool-output-" + UUID().uuidString.prefix(8))
    defer { try? FileManager.default.removeItem(atPath: file) }
    let out = try FileDescriptor.create(file)
    let null = try FileDescriptor.openNull()
    let pid: Int32
    do {
        defer { out.close(); null.close() }
        pid = try spawn(path: path, arguments: [path] + arguments, environment: ["PATH=/usr/bin:/bin"],
                        configuration: SpawnConfiguration(standardInput: null, standardOutput: out, standardError: null,
                                                          group: .newGroup, parentDeathSignal: nil))
    }
    _ = try waitForExit(pid)
    return (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
}
