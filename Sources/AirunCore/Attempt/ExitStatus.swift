/// airun's exit codes of its own (GNU timeout's conventions), and the shell's code for a signal.
public enum ExitCode {
    /// A server's restarts reached the start limit (`restart.start_limit`): airun gave up.
    public static let startLimit: Int32 = 123
    public static let timedOut: Int32 = 124
    public static let airunFailure: Int32 = 125
    public static let notExecutable: Int32 = 126
    public static let notFound: Int32 = 127

    /// What a shell reports for a process that signal `s` ended: 128 + N. Made here and nowhere
    /// else, so records, the console and airun's own status agree.
    public static func signaled(_ s: Signal) -> Int32 { 128 + s.rawValue }
}

/// How airun ends: with a code, or by re-raising the signal that ended the child (so a shell
/// running airun sees what it would have seen without it).
public enum ExitDisposition: Equatable, Sendable {
    case code(Int32)
    case signal(Signal)

    /// The exit status policy of docs/process-model.md: the timeout's 124 wins, then the child's
    /// own status.
    public init(status: TerminationStatus, timedOut: Bool) {
        if timedOut {
            self = .code(ExitCode.timedOut)
            return
        }
        switch status {
        case .exited(let code): self = .code(code)
        case .signaled(let s, _): self = .signal(s)
        }
    }

    /// The number records and `$?` show: the code, or 128+N for signal N.
    public var exitCode: Int32 {
        switch self {
        case .code(let c): c
        case .signal(let s): ExitCode.signaled(s)
        }
    }
}

/// How an attempt (or a run) ended, as records name it in `status`. A value type rather than an
/// enum so a record written by a newer airun, with a status this one does not know, reads back
/// unchanged (and counts as not succeeded).
public struct AttemptStatus: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }

    /// Exit 0, output delivered.
    public static let succeeded: AttemptStatus = "succeeded"
    /// A nonzero exit (or exit 0 whose output could not be delivered).
    public static let failed: AttemptStatus = "failed"
    /// A signal ended it.
    public static let signaled: AttemptStatus = "signaled"
    /// airun's `--timeout` expired.
    public static let timedOut: AttemptStatus = "timed_out"
    /// The command could not be started: not on PATH.
    public static let notFound: AttemptStatus = "not_found"
    /// The command could not be started: found but not executable (or too long to exec).
    public static let notExecutable: AttemptStatus = "not_executable"
    /// The command could not be started for a reason of airun's own (a pipe, a terminal).
    public static let airunError: AttemptStatus = "airun_error"
    /// A run's status only: a signal ended airun while it waited between attempts.
    public static let interrupted: AttemptStatus = "interrupted"

    /// Every status airun writes, for documentation and tests.
    public static let all: [AttemptStatus] = [.succeeded, .failed, .signaled, .timedOut, .notFound, .notExecutable, .airunError, .interrupted]
}
