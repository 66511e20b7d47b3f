/// What airun does with a signal it receives while the child runs, as data: a pure decision the
/// supervisor carries out, so the rules are tested without sending signals.
///
/// The child shares airun's process group when airun is on a terminal: the terminal then signals
/// both for Ctrl-C, Ctrl-Z and a resize, and airun must not send the same signal a second time.
/// Signals from a process (`kill`) reach airun alone and are passed on.
public struct SignalPolicy: Sendable {
    public enum Action: Equatable, Sendable {
        /// Send this signal to the child (its group, or the child alone when it shares ours).
        case deliver(Signal)
        /// Copy the terminal's size to the child's ptys first.
        case resizeTerminals
        /// Remember it as the termination signal airun received (INTERRUPTED, re-raised at exit).
        case received(Signal)
        /// Stop the child to start it again (a server's reload on SIGHUP).
        case reload
    }

    /// The child is in airun's process group (airun is on a terminal).
    public let childSharesGroup: Bool
    /// The child's output goes through ptys of airun's.
    public let childOnPTY: Bool
    /// INT/TERM sent by processes so far: a second one ends the child with SIGKILL.
    public private(set) var terminationRequests = 0
    /// The child is a server that airun restarts: a SIGHUP sent to airun means "start it again".
    public var reloadsOnHangup = false

    public init(childSharesGroup: Bool, childOnPTY: Bool, reloadsOnHangup: Bool = false) {
        self.childSharesGroup = childSharesGroup
        self.childOnPTY = childOnPTY
        self.reloadsOnHangup = reloadsOnHangup
    }

    /// The actions for `signal`; `fromProcess`: sent with kill(2), not by the terminal or kernel.
    public mutating func actions(for signal: Signal, fromProcess: Bool, childRunning: Bool) -> [Action] {
        // In airun's own group on a terminal, the terminal already signalled the child.
        let alreadyDelivered = childSharesGroup && !fromProcess
        switch signal {
        // A terminal that hangs up signals the whole group: that is an end, not a reload.
        case .hangup where reloadsOnHangup && fromProcess:
            return childRunning ? [.reload] : []
        case .interrupt, .terminate, .hangup, .quit:
            var actions: [Action] = [.received(signal)]
            // As GNU timeout does: a stopped child must be continued to act on the signal.
            if !alreadyDelivered { actions += [.deliver(signal), .deliver(.continue)] }
            // Someone keeps asking (kill, kill): insist. A person pressing Ctrl-C twice is talking
            // to the child (llama-cli stops generating, then exits) and is left to it.
            if (signal == .interrupt || signal == .terminate) && fromProcess {
                terminationRequests += 1
                if terminationRequests >= 2 && childRunning { actions.append(.deliver(.kill)) }
            }
            return actions
        case .windowChange:
            // Sent again after the resize: the terminal's own SIGWINCH may have reached the child
            // before its pty had the new size.
            return [.resizeTerminals] + (childOnPTY || !alreadyDelivered ? [.deliver(signal)] : [])
        case .continue:
            return [.deliver(.continue)]
        case .child:
            return []  // the supervisor looks at the child's state itself
        default:  // USR1, USR2, TSTP, TTIN, TTOU: the child decides; airun follows if it stops
            return alreadyDelivered ? [] : [.deliver(signal)]
        }
    }
}

/// What the timeout does, as data (swift-subprocess's `TeardownStep`): each step runs at its
/// offset after the timeout fires.
public enum TeardownStep: Equatable, Sendable {
    /// Send the signal to the child's group (and SIGCONT after it, so a stopped child acts on it),
    /// saying why on the console.
    case signal(Signal, announce: String)
}

/// The pending steps of a timeout, on the monotonic clock.
public struct Teardown: Sendable {
    public private(set) var pending: [(at: Int64, step: TeardownStep)]

    /// GNU timeout's sequence: SIGTERM when the time is up, SIGKILL `killAfter` later.
    public init(timeoutAt deadline: Int64, timeout: TimeSpan, killAfter: TimeSpan) {
        self.init(at: deadline, announce: "timed out after \(timeout); sending SIGTERM", killAfter: killAfter)
    }

    /// The same sequence for a stop airun decides on (`announce` says why), from `deadline`.
    public init(at deadline: Int64, announce: String, killAfter: TimeSpan) {
        pending = [
            (deadline, .signal(.terminate, announce: announce)),
            (deadline &+ killAfter.nanoseconds, .signal(.kill, announce: "still running \(killAfter) after SIGTERM; sending SIGKILL")),
        ]
    }

    public var nextDeadline: Int64? { pending.first?.at }
    /// The timeout fired: its first step ran.
    public private(set) var started = false

    /// Takes the steps that are due at `now`.
    public mutating func due(at now: Int64) -> [TeardownStep] {
        var steps: [TeardownStep] = []
        while let first = pending.first, now >= first.at {
            steps.append(first.step)
            pending.removeFirst()
            started = true
        }
        return steps
    }
}
