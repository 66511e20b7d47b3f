/// What the OpenTelemetry GenAI semantic conventions call the request of a llama.cpp command,
/// read from its arguments and llama.cpp's own `LLAMA_ARG_*` variables, never guessed.
///
/// The conventions followed (docs/metrics.md, "Conventions"): the GenAI client inference span and
/// client metrics of open-telemetry/semantic-conventions-genai (status Development; its shared
/// attributes from semantic-conventions v1.41.1).
public struct GenAIRequest: Equatable, Sendable {
    /// `gen_ai.operation.name`: `chat` for a conversation (llama-cli, `-cnv`), else `text_completion`.
    public var operation: String
    public var maxTokens: Int64?
    public var temperature: Double?
    public var topP: Double?
    /// A double in the conventions (llama.cpp takes an integer).
    public var topK: Double?
    public var seed: Int64?

    /// The provider, as the conventions' `gen_ai.provider.name` (a custom value: llama.cpp is not
    /// among the well-known ones).
    public static let provider = "llama.cpp"
    /// The programs that run one generation: llama-server serves many and is not one operation.
    static let programs: Set<String> = ["llama-completion", "llama-cli", "llama-simple", "llama-run"]
    /// llama.cpp's "random seed" value: no seed was chosen.
    static let randomSeed: Int64 = 0xFFFF_FFFF

    /// The request of `command` (its program a llama.cpp one, possibly under a wrapper such as
    /// `prlimit` or `nice`), nil for any other command. The last occurrence of an option wins,
    /// as in llama.cpp; a flag overrides its variable.
    public static func llama(_ command: [String], environment: [String: String]) -> GenAIRequest? {
        guard let index = command.firstIndex(where: { programs.contains(fileName($0)) }) else { return nil }
        let program = fileName(command[index])
        let arguments = Array(command[(index + 1)...])
        // The program first, as ArgumentValue reads a command line.
        func value(_ names: [String]) -> String? { ArgumentValue.find(names, in: Array(command[index...])) }
        func number(_ text: String?) -> Double? { text.flatMap { $0.utf8.count <= 32 ? Double($0) : nil }.flatMap { $0.isFinite ? $0 : nil } }
        func integer(_ text: String?) -> Int64? { text.flatMap { $0.utf8.count <= 20 ? Int64($0) : nil } }
        let conversation = program == "llama-cli" || arguments.contains { $0 == "-cnv" || $0 == "--conversation" }
        var r = GenAIRequest(operation: conversation && !arguments.contains { $0 == "-no-cnv" || $0 == "--no-conversation" } ? "chat" : "text_completion")
        // -1 (and -2) mean "until the end": no maximum to report.
        r.maxTokens = integer(value(["-n", "--predict", "--n-predict"]) ?? environment["LLAMA_ARG_N_PREDICT"]).flatMap { $0 >= 0 ? $0 : nil }
        r.temperature = number(value(["--temp", "--temperature"]))
        r.topP = number(value(["--top-p"]))
        r.topK = number(value(["--top-k"]) ?? environment["LLAMA_ARG_TOP_K"])
        r.seed = integer(value(["-s", "--seed"])).flatMap { $0 == randomSeed || $0 < 0 ? nil : $0 }
        return r
    }

    /// Whether `OTEL_SEMCONV_STABILITY_OPT_IN` asks for the latest experimental GenAI conventions
    /// (`gen_ai_latest_experimental`): then an attempt span is named `{operation} {model}`, as
    /// they say, instead of after the command (the name airun has always used).
    public static func latestExperimental(_ environment: [String: String]) -> Bool {
        (environment["OTEL_SEMCONV_STABILITY_OPT_IN"] ?? "").split(separator: ",").contains {
            $0.trimmingSpaces() == "gen_ai_latest_experimental"
        }
    }
}
