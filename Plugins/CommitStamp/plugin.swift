import Foundation
import PackagePlugin

/// Writes `BuildCommit.swift` with the git commit the build came from, for `airun --version`.
/// Rebuilt when `.git/HEAD`, the branch's ref or `packed-refs` change; `unknown` outside a clone.
@main
struct CommitStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildCommit.swift")
        let git = root.appending(path: ".git")
        var inputs = [git.appending(path: "HEAD"), git.appending(path: "packed-refs")]
        if let head = try? String(contentsOf: git.appending(path: "HEAD"), encoding: .utf8), head.hasPrefix("ref: ") {
            inputs.append(git.appending(path: head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let script = """
            c=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            printf '/// The commit this binary was built from (Plugins/CommitStamp).\\npublic let airunBuildCommit = "%s"\\n' "$c" > "$2"
            """
        return [.buildCommand(displayName: "Stamping the git commit", executable: URL(fileURLWithPath: "/bin/sh"),
                              arguments: ["-c", script, "stamp", root.path, output.path],
                              inputFiles: inputs.filter { FileManager.default.fileExists(atPath: $0.path) },
                              outputFiles: [output])]
    }
}
