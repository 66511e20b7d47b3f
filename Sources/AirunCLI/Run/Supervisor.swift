import AirunCore
import AirunSystem

/// Runs one attempt in a single-threaded poll(2) loop over the child's output, a signalfd and a
/// pidfd: no signal handlers, no races between them. The one other thread, the attempt's
/// `BackgroundWorker` (only with a redacted capture or `[child_logs]`), redacts and writes what
/// the loop hands it, and is waited for before the attempt ends.
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

    /// Signals airun takes over for the duration of the run (forwards to its child, or acts on).
    static let takenSignals: SignalSet = [.interrupt, .terminate, .hangup, .quit, .user1, .user2, .pipe, .windowChange,
                                          .terminalStop, .terminalInput, .terminalOutput, .continue]

    /// `takenSignals` less those airun was started with ignored: those stay ignored, by airun
    /// and its child. SIGCHLD tells it the child stopped.
    static func handledSignals(ignoring ignored: SignalSet) -> SignalSet {
        SignalSet(mask: takenSignals.mask & ~ignored.mask).union([.child])
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
    struct Connection {
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
        // Every other disposition is still the one airun was started with, and passes as it is.
        c.config.resetSignals = signalsAirunChanges
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
        let pid: ProcessID
        do {
            pid = try spawn(path: plan.executable, arguments: plan.arguments, environment: plan.environment,
                            configuration: connection.config)
        } catch {
            for fd in connection.childEnds + connection.ourEnds { fd.close() }
            throw error
        }
        // Our copies of the child's ends must go, or EOF (EIO on a pty) never comes.
        for fd in connection.childEnds { fd.close() }
        plan.service?.spawned(at: start)
        started(pid)
        var watch = Watch(pid: pid, start: start, plan: plan, connection: connection,
                          streams: outputStreams(connection, plan), sampler: makeSampler(pid, start))
        defer { watch.sampler?.finish() }
        // On every way out (a failed reap throws): a worker left running would sleep forever.
        defer { plan.worker?.finish() }
        while !watch.isFinished(now: monotonicNanoseconds()) {
            let ready = poll(watch.registrations(signals: signals.descriptor), timeoutMilliseconds: watch.wait(now: monotonicNanoseconds()))
            let now = monotonicNanoseconds()
            // Signals first: a Ctrl-C must not wait behind a flood of output.
            if ready.contains(.signals) { handleSignals(&watch) }
            for case .output(let i) in ready where watch.streams[i].open {
                if pump(&watch.streams[i], service: plan.service, now: now) { watch.received(on: i, at: now) }
            }
            for case .sampler(let fd) in ready { watch.sampler?.readable(fd, now: now) }
            if watch.isRunning, let sampler = watch.sampler, now >= sampler.nextDeadline {
                sampler.tick(now: now)
                if let sample = sampler.latest {
                    console.status(statusText(sample))
                    // A server over --max-memory is stopped: looked at when a sample is taken, not per read.
                    if watch.stoppedBy == nil, !watch.reloadRequested, let stop = plan.service?.overMemory(sample) {
                        begin(stop, in: &watch, at: now)
                    }
                }
            }
            if watch.isRunning, watch.stoppedBy == nil, !watch.reloadRequested, let service = plan.service, now >= service.nextDeadline,
               let stop = service.due(now: now, sampler: watch.sampler) {
                begin(stop, in: &watch, at: now)
            }
            if watch.isRunning, watch.pidFD == nil || ready.contains(.childExit), hasExited(pid) {
                try watch.reap(at: now)
                console.clearStatus()
            }
            if watch.isRunning {
                for step in watch.teardown?.due(at: now) ?? [] { carryOut(step, in: &watch) }
            }
        }
        finish(watch.streams, worker: plan.worker)
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
                case .reload:
                    watch.reloadRequested = true
                    watch.stop("SIGHUP: stopping the command to start it again; sending SIGTERM", at: monotonicNanoseconds())
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

    /// A reason of airun's own to stop the child: say it, and begin the teardown.
    private func begin(_ stop: SupervisorStop, in watch: inout Watch, at now: Int64) {
        watch.stoppedBy = stop
        let why = switch stop {
        case .readyTimeout(let limit): "not ready after \(limit)"
        case .memoryLimit(let limit, let rss):
            "its processes hold \(JSONLine.format(rss, decimals: 0)) MiB, over --max-memory \(JSONLine.format(Double(limit) / 1_048_576, decimals: 0)) MiB"
        }
        watch.stop("\(why); sending SIGTERM", at: now)
    }

    /// One step of the timeout's teardown (or of a stop airun decided on).
    private func carryOut(_ step: TeardownStep, in watch: inout Watch) {
        switch step {
        case .signal(let s, let announce):
            if watch.stoppedBy == nil && !watch.reloadRequested { watch.timedOut = true }
            console.warn(announce)
            watch.deliver(s)
            if s != .kill { watch.deliver(.continue) }
        }
    }

    /// After the loop: a background process of the child that still holds the pipes gets a relay
    /// that copies until it closes them, so what it writes later arrives as without airun (closed,
    /// the pipes would kill it with SIGPIPE); airun does not wait for it. Capture files and the
    /// command's log records are completed: the worker making them is waited for, so they are
    /// whole before the attempt's end is recorded.
    private func finish(_ streams: [OutputStream], worker: BackgroundWorker?) {
        let stillOpen = streams.filter { $0.open && !$0.destinationGone }
        if !stillOpen.isEmpty { startRelay(stillOpen.map { ($0.source, $0.destination) }) }
        let now = wallClockMicroseconds()
        for s in streams {
            if s.open { s.source.close() }
            s.childLogs?.finish(at: now)
            s.capture?.finish()
        }
        worker?.finish()
        for s in streams {
            if let error = s.capture?.writeFailure {
                console.lost("cannot write the capture file (\(error)); capture stopped", once: "capture")
            }
            if let dropped = s.childLogs?.droppedBytes, dropped > 0 {
                console.lost("\(dropped) bytes of the command's log lines were not recorded: airun fell behind", once: "child-logs")
            }
        }
    }

/// Moves one read's worth of bytes from the child to airun's stream, the tail and the
    /// capture file. Returns true if bytes arrived. Marks the stream closed at EOF (EIO on a pty).
    private func pump(_ stream: inout OutputStream, service: ServiceWatch?, now: Int64) -> Bool {
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
                    if stream.sharesConsoleLine { console.childOutput(endsLine: chunk.last == 0x0A) }
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
            service?.output(chunk, now: now)
            // Each copies what it keeps: the worker reads it after this buffer is reused.
            stream.childLogs?.feed(chunk, arrived: wallClockMicroseconds())
            stream.capture?.write(chunk)
        }
        return true
    }
}
