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
}

/// What happened to one attempt, from spawn to reap.
struct AttemptResult {
    var pid: Int32
    var usage: ProcessUsage
    var startedMonotonic: Int64
    var endedMonotonic: Int64
    var firstOutputMonotonic: Int64?
    var stdout: Tail
    var stderr: Tail
    var timedOut: Bool
    /// The last INT/TERM/HUP/QUIT airun received and passed on, if any.
    var receivedSignal: Signal?
    var usedTTY: Bool
    /// Peaks and means of the resource samples taken while it ran.
    var resources: ResourceSummary?
    /// `stdout: No space left on device` when airun could not pass the output on.
    var outputLost: String?
}

/// One of the child's output streams on its way to airun's stdout or stderr.
private struct OutputStream {
    var source: FileDescriptor
    let destination: FileDescriptor
    /// The destination is a terminal: the status line must know where its cursor is.
    let destinationIsTerminal: Bool
    var tail: Tail
    var capture: CaptureFile?
    var open = true
    var destinationGone = false
    /// Why the destination refused the output (other than a reader that went away).
    var deliveryError: Errno?
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
        [.interrupt, .terminate, .hangup, .quit, .user1, .user2, .windowChange,
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
    private struct Connection {
        var config = SpawnConfiguration()
        var outPTY: PseudoTerminal?
        var errPTY: PseudoTerminal?
        var outPipe: (read: FileDescriptor, write: FileDescriptor)?
        var errPipe: (read: FileDescriptor, write: FileDescriptor)?
        var usePTY = false
        /// Whether airun's own stdout and stderr are terminals, asked once per attempt.
        var outIsTTY = false
        var errIsTTY = false

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
                if c.errIsTTY {
                    let e = try PseudoTerminal.open(sizeFrom: .standardError)
                    c.errPTY = e
                    c.config.standardError = e.slave
                }
            } else if !outClosed {
                let p = try FileDescriptor.pipe()
                p.write.setPipeSize(1 << 20)
                c.outPipe = p
                c.config.standardOutput = p.write
            }
            if c.errPTY == nil && !errClosed {
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
             sampler makeSampler: (Int32, Int64) -> ResourceSampler? = { _, _ in nil }) throws(SystemError) -> AttemptResult {
        let connection = try connect(tty: plan.tty)
        let inheritGroup: Bool = if case .inherit = connection.config.group { true } else { false }

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
        let sampler = makeSampler(pid, start)
        defer { sampler?.finish() }

        var streams: [OutputStream] = []
        if let s = connection.outPTY?.master ?? connection.outPipe?.read {
            streams.append(OutputStream(source: s, destination: .standardOutput,
                                        destinationIsTerminal: connection.outIsTTY,
                                        tail: Tail(capacity: plan.captureBytes), capture: plan.captureStdout))
        }
        if let s = connection.errPTY?.master ?? connection.errPipe?.read {
            streams.append(OutputStream(source: s, destination: .standardError,
                                        destinationIsTerminal: connection.errIsTTY,
                                        tail: Tail(capacity: plan.captureBytes), capture: plan.captureStderr))
        }
        let pidFD = try? openPidFD(pid)

        var usage: ProcessUsage?
        var ended: Int64 = 0
        var firstOutput: Int64?
        var lastData = start
        var timedOut = false
        var receivedSignal: Signal?
        var terminationRequests = 0
        var timeoutDeadline = plan.timeout.map { start + $0.nanoseconds }
        var killDeadline: Int64?

        // Signals go to the child's whole group, or to the child alone when it shares ours.
        func deliver(_ s: Signal) {
            if inheritGroup {
                if usage == nil { sendSignal(s, to: pid) }  // never signal a reaped pid
            } else {
                sendSignal(s, to: -pid)
            }
        }
        func forwardTermination(_ s: Signal) {
            deliver(s)
            // As GNU timeout does: a stopped child must be continued to act on the signal.
            if s != .kill { deliver(.continue) }
        }

        while true {
            let now0 = monotonicNanoseconds()
            if usage != nil {
                if !streams.contains(where: \.open) { break }
                if now0 - ended >= drainMaxNanoseconds || now0 - lastData >= drainIdleNanoseconds { break }
            }
            var deadlines: [Int64] = []
            if usage == nil {
                if let sampler { deadlines.append(sampler.nextDeadline) }
                if let t = timeoutDeadline { deadlines.append(t) }
                if let k = killDeadline { deadlines.append(k) }
                if pidFD == nil { deadlines.append(now0 + 50_000_000) }  // no pidfd: check by polling
            } else {
                deadlines.append(min(ended + drainMaxNanoseconds, lastData + drainIdleNanoseconds))
            }
            let wait: Int32 = deadlines.min().map { Int32(clamping: max(0, ($0 &- now0 &+ 999_999) / 1_000_000)) } ?? -1

            var registrations: [(Registration, FileDescriptor)] = [(.signals, signals.descriptor)]
            if usage == nil, let pidFD { registrations.append((.childExit, pidFD)) }
            for i in streams.indices where streams[i].open { registrations.append((.output(i), streams[i].source)) }
            if usage == nil { for fd in sampler?.descriptors ?? [] { registrations.append((.sampler(fd), fd)) } }
            let ready = poll(registrations, timeoutMilliseconds: wait)
            let now = monotonicNanoseconds()

            // Signals first: a Ctrl-C must not wait behind a flood of output.
            if ready.contains(.signals) {
                while let event = signals.next() {
                    let s = event.signal
                    // In airun's own group on a terminal, the tty already signalled the child.
                    let alreadyDelivered = inheritGroup && !event.fromProcess
                    switch s {
                    case .interrupt, .terminate, .hangup, .quit:
                        receivedSignal = s
                        if !alreadyDelivered { forwardTermination(s) }
                        // Someone keeps asking (kill, kill): insist. A person pressing Ctrl-C twice
                        // is talking to the child (llama-cli stops generating, then exits) and is
                        // left to it, as without airun.
                        if (s == .interrupt || s == .terminate) && event.fromProcess {
                            terminationRequests += 1
                            if terminationRequests >= 2 && usage == nil { deliver(.kill) }
                        }
                    case .user1, .user2:
                        if !alreadyDelivered { deliver(s) }
                    case .windowChange:
                        connection.outPTY?.copyWindowSize(from: connection.outIsTTY ? .standardOutput : .standardInput)
                        connection.errPTY?.copyWindowSize(from: .standardError)
                        // Sent again after the resize: the terminal's own SIGWINCH may have
                        // reached the child before its pty had the new size.
                        if connection.usePTY || !alreadyDelivered { deliver(s) }
                    case .continue:
                        deliver(.continue)
                    case .child:
                        break  // looked at below
                    default:  // TSTP, TTIN, TTOU: the child decides; airun follows if it stops
                        if !alreadyDelivered { deliver(s) }
                    }
                }
                if usage == nil, let stop = stopSignal(of: pid) {
                    console.clearStatus()
                    stopSelf(with: stop)
                    deliver(.continue)  // continued ourselves (fg, bg, kill -CONT): so is the child
                }
            }

            for case .output(let i) in ready where streams[i].open {
                if pump(&streams[i]) {
                    lastData = now
                    if streams[i].destination == .standardOutput && firstOutput == nil { firstOutput = now }
                }
            }
            for case .sampler(let fd) in ready { sampler?.readable(fd, now: now) }
            if usage == nil, let sampler, now >= sampler.nextDeadline {
                sampler.tick(now: now)
                if let sample = sampler.latest { console.status(statusText(sample)) }
            }

            if usage == nil, pidFD == nil || ready.contains(.childExit), hasExited(pid) {
                usage = try waitForExit(pid)
                sampler?.finish()
                console.clearStatus()
                ended = now
                lastData = max(lastData, now)
                pidFD?.close()
            }
            if usage == nil, let t = timeoutDeadline, now >= t {
                timedOut = true
                timeoutDeadline = nil
                console.warn("timed out after \(plan.timeout!); sending SIGTERM")
                forwardTermination(.terminate)
                killDeadline = now &+ plan.killAfter.nanoseconds
            }
            if usage == nil, let k = killDeadline, now >= k {
                killDeadline = nil
                console.warn("still running \(plan.killAfter) after SIGTERM; sending SIGKILL")
                deliver(.kill)
            }
        }
        // A background process of the child still holds the pipes: hand them to a relay that
        // copies until it closes them, so what it writes later arrives as without airun (closed,
        // the pipes would kill it with SIGPIPE). airun does not wait for it.
        let stillOpen = streams.filter { $0.open && !$0.destinationGone }
        if !stillOpen.isEmpty { startRelay(stillOpen.map { ($0.source, $0.destination) }) }
        for s in streams {
            if s.open { s.source.close() }
            do { try s.capture?.finish() } catch {
                console.warn("cannot write the capture file (\(error)); capture stopped", once: "capture")
            }
        }

        return AttemptResult(
            pid: pid, usage: usage!, startedMonotonic: start, endedMonotonic: ended,
            firstOutputMonotonic: firstOutput,
            stdout: streams.first(where: { $0.destination == .standardOutput })?.tail ?? Tail(capacity: 0),
            stderr: streams.first(where: { $0.destination == .standardError })?.tail ?? Tail(capacity: 0),
            timedOut: timedOut, receivedSignal: receivedSignal, usedTTY: connection.usePTY, resources: sampler?.summary,
            outputLost: streams.compactMap { s in
                s.deliveryError.map { "\(s.destination == .standardOutput ? "stdout" : "stderr"): \($0)" }
            }.first)
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
                    console.warn("cannot write the command's \(name) (\(error.errno)); its output is lost", once: "deliver-" + name)
                }
            }
            stream.tail.append(chunk)
            if let capture = stream.capture {
                do { try capture.write(chunk) } catch {
                    stream.capture = nil
                    console.warn("cannot write the capture file (\(error)); capture stopped", once: "capture")
                }
            }
        }
        return true
    }
}

/// Waits `nanoseconds` (a retry's backoff) unless SIGINT, SIGTERM, SIGHUP or SIGQUIT arrives
/// first, which it returns: the run then stops at once.
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
