import AirunCore
import AirunSystem

/// One of the child's output streams on its way to airun's stdout or stderr.
struct OutputStream {
    var source: FileDescriptor
    let destination: FileDescriptor
    /// The destination is a terminal: the status line must know where its cursor is.
    let destinationIsTerminal: Bool
    var tail: Tail
    var capture: CaptureFile?
    var childLogs: ChildLogFeed?
    var open = true
    var destinationGone = false
    /// Why the destination refused the output (other than a reader that went away).
    var deliveryError: Errno?
    /// The child's stdout and stderr both, on one channel (airun's were one destination).
    var merged = false

    /// Whether what this stream writes reaches the place airun's own lines go (stderr, a merged
    /// channel, the terminal): the console must know if the child left a line unfinished there.
    var sharesConsoleLine: Bool { destinationIsTerminal || destination == .standardError || merged }
}

/// What a descriptor in the poll loop stands for, so the loop asks "did the child exit?" rather
/// than "is index 1 ready?".
enum Registration: Equatable {
    case signals
    case childExit
    case output(Int)
    case sampler(FileDescriptor)
}

/// poll(2) over `registrations`; the ones that are readable, hung up or in error. A short array,
/// not a Set: a handful of entries, and no hashing in a loop that runs once per read.
func poll(_ registrations: [(Registration, FileDescriptor)], timeoutMilliseconds: Int32) -> [Registration] {
    let ready = pollReadable(registrations.map(\.1), timeoutMilliseconds: timeoutMilliseconds)
    return zip(registrations, ready).compactMap { $1 ? $0.0 : nil }
}

/// How long to keep reading after the child exits: until the pipes are quiet this long…
let drainIdleNanoseconds: Int64 = 100_000_000
/// …and never longer than this, since a background grandchild may hold them open forever.
let drainMaxNanoseconds: Int64 = 2_000_000_000
let readBufferSize = 256 * 1024

/// One attempt in flight: the child, its streams, its sampler, the signal policy and the timeout's
/// teardown, and what has happened so far. The supervisor's loop asks it what to wait for and
/// tells it what happened.
struct Watch {
    let pid: ProcessID
    let start: Int64
    let plan: AttemptPlan
    let connection: Supervisor.Connection
    var streams: [OutputStream]
    let sampler: ResourceSampler?
    let pidFD: FileDescriptor?
    var policy: SignalPolicy
    var teardown: Teardown?
    var usage: ProcessUsage?
    var ended: Int64 = 0
    var firstOutput: Int64?
    var lastData: Int64
    var timedOut = false
    var receivedSignal: Signal?
    /// airun is stopping the child for a reason of its own (readiness, memory limit)…
    var stoppedBy: SupervisorStop?
    /// …or to start it again (SIGHUP to a server's airun).
    var reloadRequested = false

    init(pid: ProcessID, start: Int64, plan: AttemptPlan, connection: Supervisor.Connection, streams: [OutputStream], sampler: ResourceSampler?) {
        self.pid = pid
        self.start = start
        self.plan = plan
        self.connection = connection
        self.streams = streams
        self.sampler = sampler
        pidFD = try? openPidFD(pid)
        policy = SignalPolicy(childSharesGroup: connection.sharesGroup, childOnPTY: connection.usePTY, reloadsOnHangup: plan.reloadsOnHangup)
        teardown = plan.timeout.map { Teardown(timeoutAt: start + $0.nanoseconds, timeout: $0, killAfter: plan.killAfter) }
        lastData = start
    }

    var isRunning: Bool { usage == nil }

    /// Done once the child is reaped and its output drained: every stream closed, or quiet for
    /// `drainIdleNanoseconds`, or `drainMaxNanoseconds` after the exit whatever a grandchild does.
    func isFinished(now: Int64) -> Bool {
        guard !isRunning else { return false }
        return !streams.contains(where: \.open) || now - ended >= drainMaxNanoseconds || now - lastData >= drainIdleNanoseconds
    }

    /// What to poll: signals, the child's exit, its open streams and, while it runs, the sampler.
    func registrations(signals: FileDescriptor) -> [(Registration, FileDescriptor)] {
        var r: [(Registration, FileDescriptor)] = [(.signals, signals)]
        if isRunning, let pidFD { r.append((.childExit, pidFD)) }
        for i in streams.indices where streams[i].open { r.append((.output(i), streams[i].source)) }
        if isRunning { for fd in sampler?.descriptors ?? [] { r.append((.sampler(fd), fd)) } }
        return r
    }

    /// Milliseconds until the next thing due: a sample, a teardown step, the end of draining.
    func wait(now: Int64) -> Int32 {
        var deadlines: [Int64] = []
        if isRunning {
            if let sampler { deadlines.append(sampler.nextDeadline) }
            if let t = teardown?.nextDeadline { deadlines.append(t) }
            if let s = plan.service, stoppedBy == nil, !reloadRequested { deadlines.append(s.nextDeadline) }
            if pidFD == nil { deadlines.append(now + 50_000_000) }  // no pidfd: check by polling
        } else {
            deadlines.append(min(ended + drainMaxNanoseconds, lastData + drainIdleNanoseconds))
        }
        return deadlines.min().map { Int32(clamping: max(0, ($0 &- now &+ 999_999) / 1_000_000)) } ?? -1
    }

    /// Stops the child now for a reason of airun's own: SIGTERM, then SIGKILL `killAfter` later.
    mutating func stop(_ announce: String, at now: Int64) {
        teardown = Teardown(at: now, announce: announce, killAfter: plan.killAfter)
    }

    mutating func received(on stream: Int, at now: Int64) {
        lastData = now
        if streams[stream].destination == .standardOutput && firstOutput == nil { firstOutput = now }
    }

    /// Signals go to the child's whole group, or to the child alone when it shares ours (and then
    /// never once it is reaped: its pid may be someone else's by then).
    func deliver(_ s: Signal) {
        if connection.sharesGroup {
            if isRunning { sendSignal(s, to: pid) }
        } else {
            sendSignal(s, to: -pid)
        }
    }

    mutating func reap(at now: Int64) throws(SystemError) {
        usage = try waitForExit(pid)
        sampler?.finish()
        ended = now
        lastData = max(lastData, now)
        pidFD?.close()
    }

    /// What the supervisor saw, from spawn to reap.
    func result(usedTTY: Bool) -> ProcessRun {
        let usage = usage!
        var run = ProcessRun(pid: pid, status: usage.status)
        run.timedOut = timedOut
        run.receivedSignal = receivedSignal
        run.durationNanoseconds = ended - start
        run.firstOutputNanoseconds = firstOutput.map { $0 - start }
        run.userCPUMicroseconds = usage.userCPUMicroseconds
        run.systemCPUMicroseconds = usage.systemCPUMicroseconds
        run.maxRSSKilobytes = usage.maxRSSKilobytes
        run.usedTTY = usedTTY
        run.stdout = streams.first(where: { $0.destination == .standardOutput && !$0.merged })?.tail ?? Tail(capacity: 0)
        run.stderr = streams.first(where: { $0.destination == .standardError || $0.merged })?.tail ?? Tail(capacity: 0)
        run.resources = sampler?.summary
        run.outputLost = streams.compactMap { s in
            s.deliveryError.map { "\(s.destination == .standardOutput ? "stdout" : "stderr"): \($0)" }
        }.first
        run.outputMerged = streams.contains { $0.merged }
        run.stoppedBy = stoppedBy
        run.reloadRequested = reloadRequested
        if let ready = plan.service?.readyAt { run.readyNanoseconds = ready - start }
        return run
    }
}
