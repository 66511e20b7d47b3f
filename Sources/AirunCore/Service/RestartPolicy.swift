/// When a long-running command (a server) is started again after it ends: `--restart` and a
/// profile's `[restart]` table. docs/servers.md is the user's reference.
public struct RestartPolicy: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Run once, as any command (the default).
        case no
        /// Start again after a failure; an exit with status 0 ends the run.
        case onFailure = "on-failure"
        /// Start again after any end, a clean exit too.
        case always
    }

    public var mode = Mode.no
    /// The wait before the first restart; it doubles with each restart up to `maxDelay`.
    public var initialDelay = TimeSpan.seconds(1)
    public var maxDelay = TimeSpan.seconds(60)
    /// A start that stayed up this long was healthy: the wait goes back to `initialDelay`.
    public var stableAfter = TimeSpan.seconds(60)
    /// Exit statuses that mean "stopped on purpose": the run ends with them, never restarted.
    public var stopExitCodes: [Int32] = []
    /// More than `startLimit` starts within `startWindow` and airun gives up (exit 123).
    public var startLimit = 5
    public var startWindow = TimeSpan.seconds(300)

    public init() {}

    public var restarts: Bool { mode != .no }
}

/// What follows the end of a server's start.
public enum RestartDecision: Equatable, Sendable {
    /// Start it again after `delay`; `reason` says why, for the record and the console.
    case restart(delay: TimeSpan, reason: String)
    /// The run ends with this start's status.
    case stop(reason: String)
    /// The start limit is reached: the run ends with `ExitCode.startLimit`.
    case giveUp(reason: String)
}

/// The restart decision as a pure function of what happened and when (monotonic nanoseconds),
/// so the policy is tested without starting or waiting for anything.
public struct RestartPlanner: Sendable {
    public let policy: RestartPolicy
    /// When each start that counts toward the limit began (a reload's does not).
    public private(set) var starts: [Int64] = []
    /// The wait before the next restart.
    public private(set) var nextDelay: TimeSpan

    /// Failures that a restart cannot mend: the same command meets the same file, arguments or
    /// installation again. The run ends with them, as `RetryPlanner` ends a run.
    public static let neverRestarted: Set<ErrorCode> = [
        .modelNotFound, .modelInvalid, .modelCorrupt, .modelUnsupported, .badArguments, .commandNotFound, .permissionDenied,
        .contextTooLarge,
    ]

    public init(policy: RestartPolicy) {
        self.policy = policy
        nextDelay = policy.initialDelay
    }

    /// A start began at `now`; `counts`: false for the restart a reload (SIGHUP) asked for.
    public mutating func started(at now: Int64, counts: Bool = true) {
        if counts { starts.append(now) }
    }

    /// The decision after a start ended at `now`, having run `uptime`.
    /// - Parameters:
    ///   - ending: the start's end, classified.
    ///   - reload: airun was asked (SIGHUP) to start it again.
    ///   - stopRequested: airun received SIGTERM/SIGINT: the run ends, whatever the policy.
    public mutating func decide(after ending: AttemptEnding, failed: Bool, uptime: TimeSpan, now: Int64,
                                reload: Bool = false, stopRequested: Bool = false) -> RestartDecision {
        if stopRequested { return .stop(reason: "airun was asked to stop") }
        if reload { return .restart(delay: TimeSpan(nanoseconds: 0), reason: "SIGHUP (reload)") }
        if let code = ending.exitCode, ending.signal == nil, policy.stopExitCodes.contains(code) {
            return .stop(reason: "exit status \(code) is one of restart.stop_exit_codes")
        }
        switch policy.mode {
        case .no: return .stop(reason: "restart is off")
        case .onFailure where !failed: return .stop(reason: "the command exited with status 0 (restart = on-failure)")
        default: break
        }
        if let code = ending.code, Self.neverRestarted.contains(code) {
            return .stop(reason: "\(code.rawValue): a restart would meet the same failure")
        }
        let windowStart = now.subtractingSaturated(policy.startWindow.nanoseconds)
        starts.removeAll { $0 <= windowStart }
        if starts.count >= policy.startLimit {
            return .giveUp(reason: "\(starts.count) starts within \(policy.startWindow) (restart.start_limit = \(policy.startLimit))")
        }
        if uptime.nanoseconds >= policy.stableAfter.nanoseconds { nextDelay = policy.initialDelay }
        let delay = nextDelay
        nextDelay = TimeSpan(nanoseconds: min(policy.maxDelay.nanoseconds, delay.nanoseconds.addingSaturated(delay.nanoseconds)))
        let why = ending.code?.rawValue ?? (failed ? "a failure" : "an exit with status 0")
        return .restart(delay: delay, reason: why)
    }
}
