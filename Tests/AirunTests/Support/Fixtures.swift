public import AirunCore
import Foundation

/// The captured outputs under Tests/AirunTests/Fixtures.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    static func text(_ relative: String) -> String {
        (try? String(contentsOfFile: directory + "/" + relative, encoding: .utf8)) ?? ""
    }

    /// A captured llama.cpp or Python case: its stdout, stderr and exit code.
    static func capture(_ name: String) -> (stdout: String, stderr: String, exitCode: Int32) {
        let code = Int32(text(name + ".exitcode").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        return (text(name + ".stdout"), text(name + ".stderr"), code)
    }
}

// Test-only spellings: `"GPU_OOM"` and `"SIGKILL"` where a condition or a signal is expected, as
// a profile or a person would write them.
extension RetryCondition: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = RetryCondition(value)! }
}

extension Signal: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = Signal(name: value)! }
}
