/// `[cooldown]` (a circuit breaker across runs): after `failures` failures of one of `codes`
/// within `within`, a model cools down for `period`: runs that name it go to their fallback
/// instead of loading it again. After the period one run tries it; a success ends the cool-down.
public struct CooldownPolicy: Equatable, Sendable {
    public var failures = 3
    public var within = TimeSpan.seconds(300)
    public var period = TimeSpan.seconds(600)
    public var codes: [ErrorCode] = [.gpuOutOfMemory, .hostOutOfMemory, .oomKilled, .modelLoadFailed]

    public init() {}
}

/// What a run that names a model finds.
public enum Circuit: Equatable, Sendable {
    /// Use the model.
    case closed
    /// Cooling down until then (wall microseconds), for this reason.
    case open(until: Int64, reason: String)
    /// The cool-down is over: this run is the one that tries the model again.
    case halfOpen
}

extension ModelState {
    /// The circuit at `now`: open while cooling down, and while another run is trying the model
    /// after its cool-down (for one period at most, in case that run was killed).
    public func circuit(at now: Int64, policy: CooldownPolicy) -> Circuit {
        guard let until = coolingUntil else { return .closed }
        if now < until { return .open(until: until, reason: coolingReason ?? "cooling down") }
        let period = policy.period.nanoseconds / 1000
        // Times come from a file anyone could have edited: arithmetic that cannot overflow.
        if let probe = probeStarted, now.subtractingSaturated(probe) < period {
            return .open(until: probe.addingSaturated(period), reason: (coolingReason ?? "cooling down") + "; another run is trying it again")
        }
        return .halfOpen
    }

    /// This run tries the model after its cool-down.
    public mutating func startProbe(at now: Int64) {
        probeStarted = now
        updated = now
    }

    /// An attempt of the model failed with `code`. Returns the reason when this opens the circuit:
    /// `failures` of the listed codes within the window, or any failure of the run that tried it
    /// after a cool-down.
    public mutating func recordFailure(_ code: ErrorCode, at now: Int64, policy: CooldownPolicy) -> String? {
        updated = now
        failures.append(.init(time: now, code: code))
        if failures.count > ModelStates.maximumFailures { failures.removeFirst(failures.count - ModelStates.maximumFailures) }
        let wasProbe = probeStarted != nil
        probeStarted = nil
        let windowStart = now.subtractingSaturated(policy.within.nanoseconds / 1000)
        let recent = failures.filter { $0.time >= windowStart && policy.codes.contains($0.code) }
        let reason: String
        if wasProbe {
            reason = "\(code.rawValue) again when tried after cooling down"
        } else if policy.codes.contains(code), recent.count >= policy.failures {
            var counts: [(ErrorCode, Int)] = []
            for f in recent {
                if let i = counts.firstIndex(where: { $0.0 == f.code }) { counts[i].1 += 1 } else { counts.append((f.code, 1)) }
            }
            reason = counts.map { "\($0.1) × \($0.0.rawValue)" }.joined(separator: ", ") + " in \(policy.within)"
        } else {
            return nil
        }
        coolingUntil = now.addingSaturated(policy.period.nanoseconds / 1000)
        coolingReason = reason
        return reason
    }

    /// An attempt of the model succeeded: it is healthy again.
    public mutating func recordSuccess(at now: Int64) {
        failures.removeAll()
        coolingUntil = nil
        coolingReason = nil
        probeStarted = nil
        updated = now
    }
}

/// `[memory]`: what worked is remembered per model file, for `maxAge`.
public struct MemoryPolicy: Equatable, Sendable {
    public var enabled = true
    public var maxAge = TimeSpan.seconds(7 * 86400)

    public init() {}
}

extension ModelState.Worked {
    /// Whether it still applies: the same file (size and modification time) and not too old.
    public func applies(size: Int64, modified: Int64, at now: Int64, maxAge: TimeSpan) -> Bool {
        size == modelSize && modified == modelModified && now.subtractingSaturated(time) < maxAge.nanoseconds / 1000 && now >= time
    }

    /// `command` with the remembered values set (replacing the argument's value, or added), for
    /// each argument whose value in `command` is still the one the edit replaced: what worked for
    /// `-c 999999999` is not what a command without `-c` needs. `names` are the edits' argument
    /// names with their aliases.
    public func apply(to command: [String], names: [[String]] = []) -> [String] {
        var out = command
        for a in arguments {
            let group = names.first { $0.first == a.name } ?? [a.name]
            guard ArgumentValue.find(group, in: command) == a.original else { continue }
            _ = RetryPlanner.apply(ArgumentEdit(on: .code(.nonzeroExit), argument: a.name, aliases: Array(group.dropFirst()), set: a.value), to: &out)
        }
        return out
    }

    /// The arguments among `names` whose values in `succeeded` differ from `original`'s: what
    /// the edits changed in the attempt that worked.
    public static func learned(original: [String], succeeded: [String], names: [[String]]) -> [ModelState.Argument] {
        names.compactMap { group in
            let before = ArgumentValue.find(group, in: original)
            guard let name = group.first, let value = ArgumentValue.find(group, in: succeeded), before != value else { return nil }
            return ModelState.Argument(name, value, original: before)
        }
    }
}

/// The value of an argument in a command line (`-ngl 49`, `--gpu-layers=49`); the last wins.
public enum ArgumentValue {
    public static func find(_ names: [String], in command: [String]) -> String? {
        var found: String?
        var i = 1
        while i < command.count {
            let a = command[i]
            if names.contains(a), i + 1 < command.count {
                found = command[i + 1]
                i += 2
                continue
            }
            if let eq = a.firstIndex(of: "="), names.contains(String(a[..<eq])) { found = String(a[a.index(after: eq)...]) }
            i += 1
        }
        return found
    }
}
