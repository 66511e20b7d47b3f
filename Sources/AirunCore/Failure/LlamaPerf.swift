/// The figures llama.cpp prints about a run: its `common_perf_print:` block (older builds:
/// `llama_perf_context_print:` / `llama_print_timings:`) on stderr, and llama-cli's
/// `[ Prompt: x t/s | Generation: y t/s ]` on stdout.
public struct LlamaPerformance: Equatable, Sendable {
    public var loadTimeMs: Double?
    public var promptTokens: Int?
    public var promptTokensPerSecond: Double?
    /// Tokens sampled: llama.cpp's eval "runs" plus the last token, which is sampled but not decoded.
    public var tokensGenerated: Int?
    public var tokensPerSecond: Double?

    public init() {}

    public var isEmpty: Bool { self == LlamaPerformance() }

    /// Reads the figures from captured stderr and stdout; fields stay nil when a line is absent.
    /// Perf lines are only believed on stderr with llama.cpp's own tag, so generated text on
    /// stdout cannot fake them.
    public static func parse(stderr: String, stdout: String) -> LlamaPerformance {
        var perf = LlamaPerformance()
        let tags = ["common_perf_print:", "llama_perf_context_print:", "llama_print_timings:"]
        for line in stderr.split(whereSeparator: \.isNewline) where tags.contains(where: { line.contains($0) }) {
            guard let eq = line.firstRange(of: "time =") else { continue }
            let label = line[..<eq.lowerBound]
            let numbers = numbersIn(line[eq.upperBound...])
            if label.hasSuffix("load ") {
                perf.loadTimeMs = numbers.first
            } else if label.hasSuffix("prompt eval ") {
                if numbers.count >= 4 {
                    perf.promptTokens = Int(saturating: numbers[1])
                    perf.promptTokensPerSecond = numbers[3]
                }
            } else if label.hasSuffix(" eval ") {
                if numbers.count >= 4 {
                    let runs = Int(saturating: numbers[1])
                    perf.tokensGenerated = runs == .max ? runs : runs + 1
                    perf.tokensPerSecond = numbers[3]
                }
            }
        }
        // llama-cli: "[ Prompt: 1234.5 t/s | Generation: 56.7 t/s ]"
        for line in stdout.split(whereSeparator: \.isNewline).reversed() where line.contains("[ Prompt:") && line.contains("Generation:") {
            let numbers = numbersIn(line)
            if numbers.count >= 2 {
                perf.promptTokensPerSecond = perf.promptTokensPerSecond ?? numbers[0]
                perf.tokensPerSecond = perf.tokensPerSecond ?? numbers[1]
            }
            break
        }
        return perf
    }
}

/// The decimal numbers in `text`, in order (`inf`/`nan` are skipped: llama.cpp prints them for
/// zero-length timings).
func numbersIn(_ text: Substring) -> [Double] {
    var out: [Double] = []
    var current = ""
    for c in text + " " {
        if c.isASCII && (c.isNumber || (c == "." && !current.isEmpty)) {
            current.append(c)
        } else if !current.isEmpty {
            if let v = Double(current) { out.append(v) }
            current = ""
        }
    }
    return out
}
