/// What airun remembers of one model on this machine between runs (docs/profiles.md, "Memory
/// across runs"): its recent failures, whether it is cooling down, and the edit that made it work.
public struct ModelState: Equatable, Sendable {
    public struct Failure: Equatable, Sendable {
        public var time: Int64
        public var code: ErrorCode
        public init(time: Int64, code: ErrorCode) {
            self.time = time
            self.code = code
        }
    }

    /// An argument edit that made an attempt of this model succeed, and where it was learnt.
    public struct Worked: Equatable, Sendable {
        /// The arguments and the values that worked (`-ngl` → `49`).
        public var arguments: [Argument]
        /// The trace of the run that learnt it.
        public var learntFrom: String
        public var time: Int64
        /// The model file it worked for: a changed file is another model.
        public var modelSize: Int64
        public var modelModified: Int64

        public init(arguments: [Argument], learntFrom: String, time: Int64, modelSize: Int64, modelModified: Int64) {
            self.arguments = arguments
            self.learntFrom = learntFrom
            self.time = time
            self.modelSize = modelSize
            self.modelModified = modelModified
        }
    }

    public struct Argument: Equatable, Sendable {
        public var name: String
        public var value: String
        /// The value the command gave before the edit (nil: none): the edit is remembered for that
        /// command line, not for every use of the model.
        public var original: String?
        public init(_ name: String, _ value: String, original: String? = nil) {
            self.name = name
            self.value = value
            self.original = original
        }
    }

    /// Newest last, at most `ModelStates.maximumFailures`.
    public var failures: [Failure] = []
    /// Open circuit: runs that name the model go to their fallback until then (wall microseconds).
    public var coolingUntil: Int64?
    public var coolingReason: String?
    /// Half-open: the one run trying the model after its cool-down began then.
    public var probeStarted: Int64?
    public var worked: Worked?
    /// The last change, for dropping the oldest entries when the file is full.
    public var updated: Int64 = 0

    public init() {}

    /// Nothing to remember: the entry can go.
    public var isEmpty: Bool { failures.isEmpty && coolingUntil == nil && probeStarted == nil && worked == nil }
}

/// Every model's state: the contents of `model-state.json`. Read from a file that anyone could
/// have written, so decoding never traps and anything it does not understand is dropped.
public struct ModelStates: Equatable, Sendable {
    public var models: [String: ModelState] = [:]

    public static let maximumModels = 256
    public static let maximumFailures = 64
    /// A larger file is not read (it is airun's, a few KiB; anything else is not).
    public static let maximumBytes = 1 << 20

    public init() {}

    /// The state holds only text that masking leaves as it is: a model path (or a reason, an
    /// argument) that looks like a secret is not remembered rather than written masked, where it
    /// would never match again (and masking twice need not give what masking once gave).
    static func unmasked(_ text: String, _ redactor: Redactor) -> String? {
        redactor.redact(text) == text ? text : nil
    }

    public init(decoding bytes: [UInt8]) {
        guard bytes.count <= Self.maximumBytes, case .object(let root)? = try? JSONParser.parse(bytes[...]),
              root.int("version") == 1, case .array(let entries)? = root["models"] else { return }
        let redactor = Redactor()
        for case .object(let o) in entries.prefix(Self.maximumModels) {
            guard let model = o.string("model").flatMap({ Self.unmasked($0, redactor) }), !model.isEmpty, model.utf8.count <= 4096 else { continue }
            var state = ModelState()
            if case .array(let failures)? = o["failures"] {
                for case .object(let f) in failures.suffix(Self.maximumFailures) {
                    guard let time = f.int("time"), let code = f.string("code").flatMap(ErrorCode.init(rawValue:)) else { continue }
                    state.failures.append(.init(time: time, code: code))
                }
            }
            state.coolingUntil = o.int("cooling_until")
            state.coolingReason = o.string("cooling_reason").flatMap { Self.unmasked(String($0.prefix(500)), redactor) }
            state.probeStarted = o.int("probe_started")
            state.updated = o.int("updated") ?? 0
            if let w = o.object("worked"), let from = w.string("learnt_from").flatMap({ Self.unmasked(String($0.prefix(64)), redactor) }),
               let time = w.int("time"),
               let size = w.int("model_size"), let modified = w.int("model_modified"), case .array(let args)? = w["arguments"] {
                let arguments: [ModelState.Argument] = args.prefix(16).compactMap {
                    guard case .object(let a) = $0, let name = a.string("name").flatMap({ Self.unmasked($0, redactor) }),
                          let value = a.string("value").flatMap({ Self.unmasked($0, redactor) }),
                          name.hasPrefix("-"), name.utf8.count <= 64, value.utf8.count <= 256 else { return nil }
                    // An original that cannot be kept as it is drops the argument: it would apply too widely.
                    let original = a.string("original")
                    guard original.map({ $0.utf8.count <= 256 && Self.unmasked($0, redactor) != nil }) ?? true else { return nil }
                    return .init(name, value, original: original)
                }
                if !arguments.isEmpty {
                    state.worked = .init(arguments: arguments, learntFrom: from, time: time, modelSize: size, modelModified: modified)
                }
            }
            if !state.isEmpty { models[model] = state }
        }
    }

    /// The file's bytes: at most `maximumModels` entries, the most recently updated kept.
    public func encoded() -> [UInt8] {
        let redactor = Redactor()
        var entries = JSONArrayBuilder()
        let kept = models.filter { !$0.value.isEmpty && Self.unmasked($0.key, redactor) != nil }.sorted { ($0.value.updated, $0.key) > ($1.value.updated, $1.key) }.prefix(Self.maximumModels)
        for (model, state) in kept.sorted(by: { $0.key < $1.key }) {
            var o = JSONLine(redacting: redactor)
            o.add("model", model)
            var failures = JSONArrayBuilder()
            for f in state.failures.suffix(Self.maximumFailures) {
                var x = JSONLine(redacting: redactor)
                x.add("time", f.time)
                x.add("code", f.code.rawValue)
                failures.append(x)
            }
            o.add("failures", array: failures)
            o.add("cooling_until", state.coolingUntil)
            o.add("cooling_reason", state.coolingReason)
            o.add("probe_started", state.probeStarted)
            o.add("updated", state.updated)
            if let w = state.worked {
                var x = JSONLine(redacting: redactor)
                var args = JSONArrayBuilder()
                for a in w.arguments {
                    var y = JSONLine(redacting: redactor)
                    y.add("name", a.name)
                    y.add("value", a.value)
                    y.add("original", a.original)
                    args.append(y)
                }
                x.add("arguments", array: args)
                x.add("learnt_from", w.learntFrom)
                x.add("time", w.time)
                x.add("model_size", w.modelSize)
                x.add("model_modified", w.modelModified)
                o.add("worked", object: x)
            }
            entries.append(o)
        }
        var root = JSONLine(redacting: redactor)
        root.add("version", Int64(1))
        root.add("models", array: entries)
        return root.line()
    }
}
