import AirunCore
import AirunSystem

/// One attempt to run the command: what to start and how to watch it.
struct AttemptPlan {
    var executable: String
    var arguments: [String]
    var environment: [String]
    var tty: TTYMode
    var captureBytes: Int
    var captureStdout: CaptureFile?
    var captureStderr: CaptureFile?
    var timeout: Duration?
    var killAfter: Duration
    /// `[child_logs] format = "json"`: the stderr lines that are the command's own log records.
    var childLogs: ChildLogFeed?
}

/// Hands the child's stderr, chunk by chunk, to a line reader that picks out its JSON log lines.
/// A class: the poll loop's stream and the attempt share the one reader.
final class ChildLogFeed {
    private var lines = ChildLogLines()
    private let emit: (ChildLog, String) -> Void

    init(_ emit: @escaping (ChildLog, String) -> Void) { self.emit = emit }
    func feed(_ chunk: UnsafeRawBufferPointer) { lines.feed(chunk, emit) }
    func finish() { lines.finish(emit) }
}

/// One of the child's output streams on its way to airun's stdout or stderr.
private struct OutputStream {
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
}

/// What a descriptor in the poll loop stands for, so the loop asks "did the child exit?" rather
/// than "is index 1 ready?".
private enum Registration: Equatable {
    case signals
    case childExit
    case output(Int)
    case sampler(FileDescriptor)
}

/// poll(2) over `registrations`; the ones that are readable, hung up or in error. A short array,
/// not a Set: a handful of entries, and no hashing in a loop that runs once per read.
private func poll(_ registrations: [(Registration, FileDescriptor)], timeoutMilliseconds: Int32) -> [Registration] {
    let ready = pollReadable(registrations.map(\.1), timeoutMilliseconds: timeoutMilliseconds)
    return zip(registrations, ready).compactMap { $1 ? $0.0 : nil }
}

/// How long to keep reading after the child exits: until the pipes are quiet this long…
private let drainIdleNanoseconds: Int64 = 100_000_000
/// …and never longer than this, since a background grandchild may hold them open forever.
private let drainMaxNanoseconds: Int64 = 2_000_000_000
private let readBufferSize = 256 * 1024

/// One attempt in flight: the child, its streams, its sampler, the signal policy and the timeout's
/// teardown, and what has happened so far. The supervisor's loop asks it what to wait for and
/// tells it what happened.
private struct Watch {
    typealias Connection = Supervisor.Connection
    let pid: Int32
    let start: Int64
    let plan: AttemptPlan
    let connection: Connection
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

    init(pid: Int32, start: Int64, plan: AttemptPlan, connection: Connection, streams: [OutputStream], sampler: ResourceSampler?) {
        self.pid = pid
        self.start = start
        self.plan = plan
        self.connection = connection
        self.streams = streams
        self.sampler = sampler
        pidFD = try? openPidFD(pid)
        policy = SignalPolicy(childSharesGroup: connection.sharesGroup, childOnPTY: connection.usePTY)
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
            if pidFD == nil { deadlines.append(now + 50_000_000) }  // no pidfd: check by polling
        } else {
            deadlines.append(min(ended + drainMaxNanoseconds, lastData + drainIdleNanoseconds))
        }
        return deadlines.min().map { Int32(clamping: max(0, ($0 &- now &+ 999_999) / 1_000_000)) } ?? -1
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
        return run
    }
}

/// Runs one attempt in a single-threaded poll(2) loop over the child's output, a signalfd and a
/// pidfd: no threads, no signal handlers, no races between them.
///
/// The child always reads airun's own stdin, so EOF, typeahead and terminal modes are the
/// child's business exactly as without airun. When airun has a terminal on any standard stream,
/// the child stays in airun's process group: it is the same job to the shell, so Ctrl-C, Ctrl-Z,
/// `fg` and `bg` reach both, and airun mirrors a stop of the child by stopping itself with the
/// same signal. Without a terminal the child gets a group of its own, so signals and timeouts
/// reach its whole tree.
final class Supervisor {
    private let console: Console
    private let signals: SignalChannel
    /// Uninitialised on purpose: zero-filling 256 KiB would fault in every page at start-up.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readBufferSize, alignment: 16)

    /// Signals airun takes over for the duration of the run, less those it was started with
    /// ignored: those stay ignored, by airun and its child. SIGCHLD tells it the child stopped.
    static func handledSignals(ignoring ignored: Set<Signal>) -> [Signal] {
        [.interrupt, .terminate, .hangup, .quit, .user1, .user2, .pipe, .windowChange,
         .terminalStop, .terminalInput, .terminalOutput, .continue].filter { !ignored.contains($0) } + [.child]
    }

    deinit { buffer.deallocate() }

    /// What airun was started with: closed standard descriptors (the child gets them closed and
    /// nothing is relayed for them) and ignored signals (the child gets them ignored).
    private let inherited: Inherited

    init(console: Console, inherited: Inherited = Inherited()) throws(SystemError) {
        self.console = console
        self.inherited = inherited
        // Blocked before any child exists, so none is lost between spawn and the first poll.
        signals = try SignalChannel(Self.handledSignals(ignoring: inherited.ignoredSignals))
        ignoreBrokenPipe()  // EPIPE on our stdout is handled; the child gets SIG_DFL back
    }

    /// The child's ends of its output streams and airun's ends of them.
    fileprivate struct Connection {
        var config = SpawnConfiguration()
        var outPTY: PseudoTerminal?
        var errPTY: PseudoTerminal?
        var outPipe: (read: FileDescriptor, write: FileDescriptor)?
        var errPipe: (read: FileDescriptor, write: FileDescriptor)?
        var usePTY = false
        /// airun's stdout and stderr are one destination: the child gets one channel for both,
        /// so their order is the bare command's (two pipes cannot keep it).
        var merged = false
        /// Whether airun's own stdout and stderr are terminals, asked once per attempt.
        var outIsTTY = false
        var errIsTTY = false

        /// The child stays in airun's process group (airun is on a terminal).
        var sharesGroup: Bool { if case .inherit = config.group { true } else { false } }

        var childEnds: [FileDescriptor] { [outPTY?.slave, errPTY?.slave, outPipe?.write, errPipe?.write].compactMap { $0 } }
        var ourEnds: [FileDescriptor] { [outPTY?.master, errPTY?.master, outPipe?.read, errPipe?.read].compactMap { $0 } }
    }

    /// Sets up stdout and stderr as ptys (where airun's are terminals and `tty` allows) or pipes.
    private func connect(tty: TTYMode) throws(SystemError) -> Connection {
        var c = Connection()
        c.config.closedStandardStreams = inherited.closedStreams
        c.config.ignoredSignals = inherited.ignoredSignals
        let outClosed = inherited.closedStreams.contains(.standardOutput)
        let errClosed = inherited.closedStreams.contains(.standardError)
        c.outIsTTY = FileDescriptor.standardOutput.isTerminal
        c.errIsTTY = FileDescriptor.standardError.isTerminal
        c.merged = !outClosed && !errClosed && FileDescriptor.standardOutput.sharesDestination(with: .standardError)
        let wantPTY: Bool = switch tty {
        case .always: true
        case .never: false
        case .auto: c.outIsTTY
        }
        c.usePTY = wantPTY && !outClosed
        do {
            if c.usePTY {
                let pty = try PseudoTerminal.open(sizeFrom: c.outIsTTY ? .standardOutput : .standardInput)
                c.outPTY = pty
                c.config.standardOutput = pty.slave
                if c.merged {
                    c.config.standardError = pty.slave
                } else if c.errIsTTY {
                    let e = try PseudoTerminal.open(sizeFrom: .standardError)
                    c.errPTY = e
                    c.config.standardError = e.slave
                }
            } else if !outClosed {
                let p = try FileDescriptor.pipe()
                p.write.setPipeSize(1 << 20)
                c.outPipe = p
                c.config.standardOutput = p.write
                if c.merged { c.config.standardError = p.write }
            }
            if c.errPTY == nil && !errClosed && !c.merged {
                let p = try FileDescriptor.pipe()
                c.errPipe = p
                c.config.standardError = p.write
            }
        } catch {
            for fd in c.childEnds + c.ourEnds { fd.close() }
            throw error
        }
        let onTerminal = c.outIsTTY || c.errIsTTY || FileDescriptor.standardInput.isTerminal
        c.config.group = onTerminal ? .inherit : .newGroup
        return c
    }

    /// Starts the attempt, calls `started` with its pid (the attempt.start record), and returns
    /// once the child is reaped and its output drained.
    func run(_ plan: AttemptPlan, started: (Int32) -> Void,
             sampler makeSampler: (Int32, Int64) -> ResourceSampler? = { _, _ in nil }) throws(SystemError) -> ProcessRun {
        let connection = try connect(tty: plan.tty)
        let start = monotonicNanoseconds()
        let pid: Int32
        do {
            pid = try spawn(path: plan.executable, arguments: plan.arguments, environment: plan.environment,
                            configuration: connection.config)
        } catch {
            for fd in connection.childEnds + connection.ourEnds { fd.close() }
            throw error
        }
        // Our copies of the child's ends must go, or EOF (EIO on a pty) never comes.
        for fd in connection.childEnds { fd.close() }
        started(pid)
        var watch = Watch(pid: pid, start: start, plan: plan, connection: connection,
                          streams: outputStreams(connection, plan), sampler: makeSampler(pid, start))
        defer { watch.sampler?.finish() }
        while !watch.isFinished(now: monotonicNanoseconds()) {
            let ready = poll(watch.registrations(signals: signals.descriptor), timeoutMilliseconds: watch.wait(now: monotonicNanoseconds()))
            let now = monotonicNanoseconds()
            // Signals first: a Ctrl-C must not wait behind a flood of output.
            if ready.contains(.signals) { handleSignals(&watch) }
            for case .output(let i) in ready where watch.streams[i].open {
                if pump(&watch.streams[i]) { watch.received(on: i, at: now) }
            }
            for case .sampler(let fd) in ready { watch.sampler?.readable(fd, now: now) }
            if watch.isRunning, let sampler = watch.sampler, now >= sampler.nextDeadline {
                sampler.tick(now: now)
                if let sample = sampler.latest { console.status(statusText(sample)) }
            }
            if watch.isRunning, watch.pidFD == nil || ready.contains(.childExit), hasExited(pid) {
                try watch.reap(at: now)
                console.clearStatus()
            }
            if watch.isRunning {
                for step in watch.teardown?.due(at: now) ?? [] { carryOut(step, in: &watch) }
            }
        }
        finish(watch.streams)
        return watch.result(usedTTY: connection.usePTY)
    }

    /// The child's stdout and stderr, each on its way to airun's.
    private func outputStreams(_ connection: Connection, _ plan: AttemptPlan) -> [OutputStream] {
        var streams: [OutputStream] = []
        if let s = connection.outPTY?.master ?? connection.outPipe?.read, connection.merged {
            // One channel for both: one tail (classification reads it as stderr), JSON log lines
            // from either, and the capture in the .stderr file.
            streams.append(OutputStream(source: s, destination: .standardOutput, destinationIsTerminal: connection.outIsTTY,
                                        tail: Tail(capacity: plan.captureBytes), capture: plan.captureStderr, childLogs: plan.childLogs,
                                        merged: true))
            return streams
        }
        if let s = connection.outPTY?.master ?? connection.outPipe?.read {
            streams.append(OutputStream(source: s, destination: .standardOutput, destinationIsTerminal: connection.outIsTTY,
                                        tail: Tail(capacity: plan.captureBytes), capture: plan.captureStdout))
        }
        if let s = connection.errPTY?.master ?? connection.errPipe?.read {
            streams.append(OutputStream(source: s, destination: .standardError, destinationIsTerminal: connection.errIsTTY,
                                        tail: Tail(capacity: plan.captureBytes), capture: plan.captureStderr, childLogs: plan.childLogs))
        }
        return streams
    }

    /// Reads every pending signal and carries out what the policy says; then, if the child has
    /// stopped (Ctrl-Z, SIGTTIN), stops airun the same way, as one job.
    private func handleSignals(_ watch: inout Watch) {
        while let event = signals.next() {
            // airun's own write to a reader that went away raises SIGPIPE in airun (the write then
            // fails with EPIPE, which the relay handles): that one is not the child's to receive.
            if event.signal == .pipe && event.sender == processID() { continue }
            for action in watch.policy.actions(for: event.signal, fromProcess: event.fromProcess, childRunning: watch.isRunning) {
                switch action {
                case .deliver(let s): watch.deliver(s)
                case .received(let s): watch.receivedSignal = s
                case .resizeTerminals:
                    watch.connection.outPTY?.copyWindowSize(from: watch.connection.outIsTTY ? .standardOutput : .standardInput)
                    watch.connection.errPTY?.copyWindowSize(from: .standardError)
                }
            }
        }
        if watch.isRunning, let stop = stopSignal(of: watch.pid) {
            console.clearStatus()
            stopSelf(with: stop)
            watch.deliver(.continue)  // continued ourselves (fg, bg, kill -CONT): so is the child
        }
    }

    /// One step of the timeout's teardown.
    private func carryOut(_ step: TeardownStep, in watch: inout Watch) {
        switch step {
        case .signal(let s, let announce):
            watch.timedOut = true
            console.warn(announce)
            watch.deliver(s)
            if s != .kill { watch.deliver(.continue) }
        }
    }

    /// After the loop: a background process of the child that still holds the pipes gets a relay
    /// that copies until it closes them, so what it writes later arrives as without airun (closed,
    /// the pipes would kill it with SIGPIPE); airun does not wait for it. Capture files are closed.
    private func finish(_ streams: [OutputStream]) {
        let stillOpen = streams.filter { $0.open && !$0.destinationGone }
        if !stillOpen.isEmpty { startRelay(stillOpen.map { ($0.source, $0.destination) }) }
        for s in streams {
            if s.open { s.source.close() }
            s.childLogs?.finish()
            do { try s.capture?.finish() } catch {
                console.lost("cannot write the capture file (\(error)); capture stopped", once: "capture")
            }
        }
    }

/// Moves one read's worth of bytes from the child to airun's stream, the tail and the
    /// capture file. Returns true if bytes arrived. Marks the stream closed at EOF (EIO on a pty).
    private func pump(_ stream: inout OutputStream) -> Bool {
        let n = (try? stream.source.read(into: buffer.baseAddress!, count: buffer.count)) ?? -1
        guard n > 0 else {
            if n < 0 && Errno.current == .wouldBlock { return false }
            stream.open = false
            stream.source.close()
            return false
        }
        console.clearStatus()
        do {
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if !stream.destinationGone {
                do {
                    try stream.destination.writeAll(chunk)
                    if stream.destinationIsTerminal { console.terminalOutput(endsLine: chunk.last == 0x0A) }
                } catch where error.errno == .brokenPipe {
                    // Our reader went away (`airun … | head`). Close the child's pipe so it meets
                    // EPIPE/SIGPIPE just as it would have without airun in between.
                    stream.destinationGone = true
                    stream.open = false
                    stream.source.close()
                } catch {
                    // A full disk, an I/O error: the child cannot be told, since its write to
                    // us succeeded. Keep draining it, say so once, and the run does not succeed.
                    stream.destinationGone = true
                    stream.deliveryError = error.errno
                    let name = stream.destination == .standardOutput ? "stdout" : "stderr"
                    console.lost("cannot write the command's \(name) (\(error.errno)); its output is lost", once: "deliver-" + name)
                }
            }
            stream.tail.append(chunk)
            stream.childLogs?.feed(chunk)
            if let capture = stream.capture {
                do { try capture.write(chunk) } catch {
                    stream.capture = nil
                    console.lost("cannot write the capture file (\(error)); capture stopped", once: "capture")
                }
            }
        }
        return true
    }
}

/// Waits `nanoseconds` (a retry's backoff) unless SIGINT, SIGTERM, SIGHUP, SIGQUIT, or a SIGPIPE
/// that another process sent, arrives first, which it returns: the run then stops at once.
func waitForTermination(nanoseconds: Int64, ignoring ignored: Set<Signal>) -> Signal? {
    guard let channel = try? SignalChannel(Supervisor.handledSignals(ignoring: ignored)) else {
        sleepNanoseconds(nanoseconds)
        return nil
    }
    let deadline = monotonicNanoseconds() + nanoseconds
    while true {
        let left = deadline - monotonicNanoseconds()
        if left <= 0 { return nil }
        _ = pollReadable([channel.descriptor], timeoutMilliseconds: Int32(clamping: (left + 999_999) / 1_000_000))
        while let event = channel.next() {
            if [.interrupt, .terminate, .hangup, .quit].contains(event.signal) { return event.signal }
            if event.signal == .pipe && event.sender != processID() { return event.signal }
        }
    }
}

/// The live status line: elapsed time, the tree's memory and CPU, and the GPU.
func statusText(_ s: ResourceSample) -> String {
    func mb(_ v: Double) -> String { v >= 1024 ? "\(JSONLine.format(v / 1024, decimals: 1)) GiB" : "\(Int(saturating: v)) MiB" }
    var parts = ["\(Int(saturating: s.elapsed))s", "rss \(mb(s.treeRSSMB))"]
    if let c = s.cpuPercent { parts.append("cpu \(Int(saturating: c.rounded()))%") }
    if let g = s.gpus.first {
        if let u = g.utilizationPercent { parts.append("gpu \(Int(saturating: u))%") }
        if let m = g.memoryUsedMB { parts.append("vram \(mb(m))") }
    }
    return parts.joined(separator: "  ")
}
