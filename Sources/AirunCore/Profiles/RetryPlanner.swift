/// A condition a profile's `retry_on`, `never_retry_on`, `fallback.on` and edits name: an error
/// code (`GPU_OOM`), an exit status (`exit:137`) or a signal (`signal:KILL`).
public enum RetryCondition: Equatable, Sendable, CustomStringConvertible {
    case code(ErrorCode)
    case exit(Int32)
    case signal(Signal)

    /// Parses `GPU_OOM`, `exit:N` (0-255) or `signal:NAME`; nil for anything else.
    public init?(_ text: String) {
        if let code = ErrorCode(rawValue: text) {
            self = .code(code)
        } else if text.hasPrefix("exit:"), let n = Int32(text.dropFirst(5)), (0...255).contains(n) {
            self = .exit(n)
        } else if text.hasPrefix("signal:"), let s = Signal(name: String(text.dropFirst(7))) {
            self = .signal(s)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .code(let c): c.rawValue
        case .exit(let n): "exit:\(n)"
        case .signal(let s): "signal:\(s.name.dropFirst(3))"
        }
    }
}

/// What ended an attempt, as the retry decision needs it.
public struct AttemptEnding: Sendable {
    public var code: ErrorCode?
    public var retryable: Bool
    /// The child's own exit code; nil when a signal ended it.
    public var exitCode: Int32?
    public var signal: Signal?

    public init(code: ErrorCode?, retryable: Bool, exitCode: Int32?, signal: Signal?) {
        self.code = code
        self.retryable = retryable
        self.exitCode = exitCode
        self.signal = signal
    }

    /// Whether a condition describes this ending.
    func matches(_ condition: RetryCondition) -> Bool {
        switch condition {
        case .code(let c): code == c
        case .exit(let n): exitCode == n
        case .signal(let s): signal == s
        }
    }
}

/// The next attempt, or why there is none.
public enum RetryDecision: Equatable, Sendable {
    case retry(after: TimeSpan, command: [String], change: String, reason: String)
    case stop(reason: String)
}

/// Decides, attempt by attempt, whether to try again, after how long, and with what command.
/// Pure: the caller supplies the elapsed time and the randomness (tests use a seeded generator).
public struct RetryPlanner: Sendable {
    public let policy: RetryPolicy
    public let fallback: FallbackPlan
    /// Failures never retried whatever a profile says: the input is wrong, or a person said stop.
    public static let alwaysFinal: [ErrorCode] = [.badArguments, .interrupted]

    private var nextModel = 0
    private var usedAlternative = false
    /// The current model's layers and context, for edits of arguments the command does not give
    /// as numbers (`when_absent`); nil when its header could not be read.
    public var modelShape: ModelShape?

    /// Whether a fallback model is still left to try.
    public var hasModelLeft: Bool { nextModel < fallback.models.count }

    public init(policy: RetryPolicy, fallback: FallbackPlan) {
        self.policy = policy
        self.fallback = fallback
    }

    /// Called after attempt `attempt` (1-based) failed, with the command it ran.
    ///
    /// A fallback (another model, an edited argument, the alternative command) makes a different
    /// attempt and is taken for the codes it lists; `never_retry_on` and a code's retryability
    /// concern only running the same command again. `alwaysFinal` codes end the run either way.
    ///
    /// `immediately`: the failed attempt never started (the pre-flight check stopped it), so there
    /// is nothing to wait for: a fallback follows at once.
    public mutating func decide(after attempt: Int, ending: AttemptEnding, command: [String], elapsed: TimeSpan,
                                immediately: Bool = false, using rng: inout some RandomNumberGenerator) -> RetryDecision {
        let reason = ending.code?.rawValue ?? ending.signal?.name ?? "exit \(ending.exitCode ?? -1)"
        if let code = ending.code, Self.alwaysFinal.contains(code) {
            return .stop(reason: "\(code.rawValue) is never retried")
        }
        guard attempt < policy.attempts else {
            return .stop(reason: "all \(policy.attempts) attempt\(policy.attempts == 1 ? "" : "s") used")
        }
        let delay = immediately ? TimeSpan(nanoseconds: 0) : self.delay(before: attempt + 1, using: &rng)
        if let limit = policy.maxTotalTime, elapsed.nanoseconds + delay.nanoseconds > limit.nanoseconds {
            return .stop(reason: "max_total_time \(limit) would be exceeded")
        }
        if let (next, change) = fallbackStep(after: ending, command: command) {
            return .retry(after: delay, command: next, change: change, reason: reason)
        }
        if let never = policy.neverRetryOn.first(where: ending.matches) {
            return .stop(reason: "\(reason) matches never_retry_on \(never)")
        }
        let retryable = policy.retryOn.isEmpty ? ending.retryable : policy.retryOn.contains(where: ending.matches)
        guard retryable else { return .stop(reason: "\(reason) is not retryable") }
        return .retry(after: delay, command: command, change: "the same command", reason: reason)
    }

    /// The fallback for this failure, if one applies: the next model, the argument edits for its
    /// code, or, once the models are used up, the alternative command. Advances through the models.
    private mutating func fallbackStep(after ending: AttemptEnding, command: [String]) -> ([String], String)? {
        var next = command
        var changes: [String] = []
        let modelFailure = fallback.modelOn.contains(where: ending.matches)
        if modelFailure, nextModel < fallback.models.count, let model = ModelArgument.find(in: command) {
            let path = fallback.models[nextModel]
            next[model.index] = command[model.index].hasPrefix("--model=") ? "--model=" + path : path
            changes.append("fallback model \(fileName(path))")
            nextModel += 1
        }
        for edit in fallback.edits where ending.matches(edit.on) {
            if let change = Self.apply(edit, to: &next, shape: modelShape) { changes.append(change) }
        }
        if changes.isEmpty, let alternative = fallback.command, !usedAlternative,
           modelFailure || nextModel >= fallback.models.count && !fallback.models.isEmpty {
            usedAlternative = true
            next = alternative
            changes.append("alternative command \(alternative[0])")
        }
        return changes.isEmpty ? nil : (next, changes.joined(separator: ", "))
    }

    /// What attempt 2 would be after each error code, in words, for `--dry-run`: the change a
    /// fallback makes, the same command, or nothing and why.
    public func planByCode(command: [String]) -> [(code: ErrorCode, next: String)] {
        ErrorCode.allCases.map { code in
            var planner = self
            var rng = NoJitter()
            // The ending `--simulate CODE` gives an attempt: a signal where the code goes with one.
            let ending = SimulatedFailure(code: code, attempt: 1).ending
            let next: String = switch planner.decide(after: 1, ending: ending, command: command, elapsed: TimeSpan(nanoseconds: 0), using: &rng) {
            case .retry(let delay, _, let change, _): "\(change) after \(delay)"
            case .stop(let reason): "nothing: \(reason)"
            }
            return (code, next)
        }
    }

    /// The wait before attempt `attempt` (2 for the first retry): fixed, or doubling from the
    /// initial delay, capped, then varied by ± jitter.
    public func delay(before attempt: Int, using rng: inout some RandomNumberGenerator) -> TimeSpan {
        var base = Double(policy.initialDelay.nanoseconds)
        if policy.backoff == .exponential { base *= Double(1 << min(max(attempt - 2, 0), 30)) }
        base = min(base, Double(policy.maxDelay.nanoseconds))
        if policy.jitter > 0 { base *= 1 + Double.random(in: -policy.jitter...policy.jitter, using: &rng) }
        return TimeSpan(nanoseconds: Int64(saturating: max(0, base)))
    }

    /// Rewrites the value after the edit's argument (`-ngl 99` → `-ngl 49`); if the argument is
    /// absent and the edit sets a value, or scales what the model implies (`when_absent`), appends
    /// it. Returns a description, or nil if nothing changed.
    static func apply(_ edit: ArgumentEdit, to args: inout [String], shape: ModelShape? = nil) -> String? {
        let names = [edit.argument] + edit.aliases
        let implied = shape.flatMap { edit.implied?.value(in: $0) }
        for (i, a) in args.enumerated() where i > 0 {
            if names.contains(a), i + 1 < args.count {
                guard let v = edit.apply(to: args[i + 1], impliedValue: implied), v != args[i + 1] else { return nil }
                let old = args[i + 1]
                args[i + 1] = v
                return "\(a) \(old) → \(v)"
            }
            if let eq = a.firstIndex(of: "="), names.contains(String(a[..<eq])) {
                let old = String(a[a.index(after: eq)...])
                if let v = edit.apply(to: old, impliedValue: implied), v != old {
                    args[i] = String(a[...eq]) + v
                    return "\(a[..<eq]) \(old) → \(v)"
                }
                return nil
            }
        }
        if let set = edit.set {
            args += [edit.argument, set]
            return "\(edit.argument) \(set)"
        }
        // Not given: llama.cpp chooses (from the model, or `--fit` from free memory); an explicit
        // value below what the model holds is a real change either way.
        if let implied, let v = edit.apply(to: "", impliedValue: implied) {
            args += [edit.argument, v]
            return "\(edit.argument) \(v) (the model's \(implied) × \(JSONLine.format(edit.scale ?? 1, decimals: 3)))"
        }
        return nil
    }
}

/// A generator whose doubles come out at the middle of any range: the delay without jitter.
private struct NoJitter: RandomNumberGenerator {
    mutating func next() -> UInt64 { 1 << 63 }
}
