import AirunCore
import AirunSystem

/// What a run does with what earlier runs learnt of its models (docs/profiles.md, "Memory across
/// runs"): before an attempt, whether its model is cooling down and whether an edit made it work
/// before; after it, the failure or success that the next runs will see.
struct RunMemory {
    let file: ModelStateFile
    let settings: RunSettings
    let console: Console
    let traceID: String
    /// False in a run with simulated failures: an edit that "fixed" a failure that never happened
    /// is nothing to learn.
    let learns: Bool

    /// What an attempt starts from.
    struct Before {
        var command: [String]
        var cooldown: Verdict?
        var learntFrom: String?
    }

    func before(attempt number: Int, command: [String], fallbackLeft: Bool) -> Before {
        var result = Before(command: command)
        guard let model = ModelArgument.find(in: command) else { return result }
        let now = wallClockMicroseconds()
        let (circuit, lastCode, worked) = file.update { states -> (Circuit, ErrorCode?, ModelState.Worked?) in
            var state = states.models[model.path] ?? ModelState()
            var circuit = Circuit.closed
            if let policy = settings.cooldown {
                circuit = state.circuit(at: now, policy: policy)
                // The cool-down is over: this run tries the model; others wait for its answer.
                if circuit == .halfOpen {
                    state.startProbe(at: now)
                    states.models[model.path] = state
                }
            }
            let worked = number == 1 && settings.memory.enabled ? state.worked : nil
            return (circuit, state.failures.last?.code, worked)
        } ?? (.closed, nil, nil)
        if case .open(let until, let reason) = circuit {
            let what = "cooling down until \(rfc3339(microseconds: until).prefix(19))Z: \(reason)"
            if fallbackLeft {
                let code = lastCode ?? .modelLoadFailed
                result.cooldown = Verdict(code: code, retryable: false, evidence: what, rule: "cooldown")
            } else {
                console.warn("\(model.id) is \(what); no fallback model is left, so it runs anyway (--no-cooldown: no warning)")
            }
        }
        // The file is looked at only when there is an edit to apply to it.
        if let worked, let version = fileVersion(model.path), worked.applies(size: version.size, modified: version.modified, at: now, maxAge: settings.memory.maxAge) {
            result.command = worked.apply(to: command, names: settings.fallback.edits.map { [$0.argument] + $0.aliases })
            if result.command != command {
                result.learntFrom = worked.learntFrom
                let values = worked.arguments.map { "\($0.name) \($0.value)" }.joined(separator: " ")
                console.info("starting from \(values), which made \(model.id) work in trace \(worked.learntFrom) (--no-memory: as given)")
            }
        }
        return result
    }

    /// Records what the attempt's model did: a failure (which may start its cool-down), or a
    /// success (which ends it, and keeps the edits that made it).
    func after(_ attempt: AttemptOutcome, original: [String]) {
        guard let model = ModelArgument.find(in: attempt.command), !attempt.measurement.simulated,
              attempt.measurement.startFailure?.kind != .cooldown else { return }
        let code = attempt.verdict?.code
        let names = settings.fallback.edits.map { [$0.argument] + $0.aliases }
        let learned = code == nil && settings.memory.enabled && learns && attempt.number > 1
            && ModelArgument.find(in: original)?.path == model.path
            ? ModelState.Worked.learned(original: original, succeeded: attempt.command, names: names) : []
        // A failure is only remembered for cool-downs; a success only if it may end one or teaches an edit.
        guard settings.cooldown != nil || !learned.isEmpty else { return }
        let now = wallClockMicroseconds()
        let version = learned.isEmpty ? nil : fileVersion(model.path)
        let opened = file.update { states -> String? in
            var state = states.models[model.path] ?? ModelState()
            var opened: String?
            if let code, let policy = settings.cooldown {
                opened = state.recordFailure(code, at: now, policy: policy)
            } else if code == nil {
                if state.isEmpty && learned.isEmpty { return nil }
                state.recordSuccess(at: now)
                if let version {
                    state.worked = ModelState.Worked(arguments: learned, learntFrom: traceID, time: now,
                                                     modelSize: version.size, modelModified: version.modified)
                }
            }
            states.models[model.path] = state
            return opened
        } ?? nil
        if let opened, let policy = settings.cooldown {
            console.warn("\(model.id) is cooling down for \(policy.period): \(opened); runs that name it go to their fallback model")
        }
    }
}
