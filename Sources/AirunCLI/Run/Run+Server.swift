import AirunCore
import AirunSystem

/// A run of a server (`--restart`, docs/servers.md): its starts and restarts.
extension Run {
    /// A server's starts (`--restart`, docs/servers.md): each start is an attempt; when one ends
    /// the restart planner decides, and the wait before the next start can be ended by a signal.
    /// Returns the last start, how many there were, the signal that ended a wait, and why airun
    /// gave up when the start limit was reached.
    func runStarts(_ context: AttemptContext, run: RunIdentity, restarting: () -> Void) -> (AttemptOutcome, Int, Signal?, String?) {
        var planner = RestartPlanner(policy: settings.service.restart)
        var number = 1
        var reloading = false
        while true {
            let runner = AttemptRunner(context: context, command: options.command, number: number, span: SpanID.random(using: &rng))
            planner.started(at: monotonicNanoseconds(), counts: !reloading)
            let attempt = runner.execute()
            let process = attempt.measurement.run
            let stopRequested = process?.receivedSignal.map(\.isTermination) ?? false
            let decision = planner.decide(after: attempt.ending, failed: attempt.failed,
                                          uptime: TimeSpan(nanoseconds: process?.durationNanoseconds ?? 0), now: monotonicNanoseconds(),
                                          reload: process?.reloadRequested ?? false, stopRequested: stopRequested)
            switch decision {
            case .stop(let why):
                if attempt.failed { runner.writeError(attempt, level: .error) }
                if !stopRequested { console.info("not restarting: \(why)") }
                return (attempt, number, nil, nil)
            case .giveUp(let why):
                if attempt.failed { runner.writeError(attempt, level: .error) }
                console.error("giving up: \(why); exit \(ExitCode.startLimit)")
                return (attempt, number, nil, why)
            case .restart(let delay, _) where context.deadline.map { monotonicNanoseconds() + delay.nanoseconds >= $0 } ?? false:
                // `--max-time` bounds the whole run, a server's too: no start begins past it.
                if attempt.failed { runner.writeError(attempt, level: .error) }
                console.info("not restarting: --max-time leaves no time for another start")
                return (attempt, number, nil, nil)
            case .restart(let delay, let reason):
                if attempt.failed { runner.writeError(attempt, level: .warning) }
                reloading = process?.reloadRequested ?? false
                announceRestart(after: attempt, delay: delay, reason: reason, run: run, sink: context.sink)
                restarting()
                if let s = waitForTermination(nanoseconds: delay.nanoseconds, ignoring: inherited.ignoredSignals) {
                    return (attempt, number, s, nil)
                }
                number += 1
            }
        }
    }

    /// The restart's retry record (`restart: true`) and its console line.
    private func announceRestart(after attempt: AttemptOutcome, delay: TimeSpan, reason: String, run: RunIdentity, sink: any RecordSink) {
        let seconds = JSONLine.format(Double(delay.nanoseconds) / 1e9, decimals: 1)
        let sentence = "restarting in \(seconds) s after \(reason) (start \(attempt.number + 1))"
        var retry = Retry(after: attempt, delay: delay, reason: reason, change: "a restart", command: attempt.command)
        retry.restart = true
        retry.modelID = labels.modelID(for: attempt.command)
        sink.write(Record(.retry(retry), level: .warning, message: sentence, identity: run.record, timestampMicroseconds: wallClockMicroseconds()))
        console.info(sentence)
    }
}
