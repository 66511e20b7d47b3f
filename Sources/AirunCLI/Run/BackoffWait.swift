import AirunCore
import AirunSystem

/// Waits `nanoseconds` (a retry's backoff) unless SIGINT, SIGTERM, SIGHUP, SIGQUIT, or a SIGPIPE
/// that another process sent, arrives first, which it returns: the run then stops at once.
func waitForTermination(nanoseconds: Int64, ignoring ignored: SignalSet) -> Signal? {
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
