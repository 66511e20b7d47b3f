import AirunCore
import AirunSystem

/// The warning when profile patterns spent their shared budget, naming the rule that spent it.
func patternBudgetWarning(_ rule: String) -> String {
    "profile rule '\(rule)': its patterns used up the time all [[classify]] patterns share (about 0.2 s); the patterns after it were skipped (make them shorter, or match phrases)"
}

/// How a failed attempt is diagnosed, the same way for a run and for `airun classify`: a look at
/// the model file's header, the profile's `[[classify]]` rules before the built-in ones, and, when
/// llama.cpp's log stopped before its error line, the prompt check (docs/errors.md).
struct Diagnosis {
    let rules: [ClassificationRule]
    let environment: [String: String]

    /// The findings for a measured attempt: a failure's verdict, model file and exception, and
    /// llama.cpp's figures for any attempt. The memory limit is read only for a SIGKILL.
    func findings(for measurement: AttemptMeasurement) -> AttemptFindings {
        let facts = measurement.facts(memoryLimitMegabytes: measurement.signal == .kill ? memoryLimitMegabytes() : nil)
        var findings = findings(for: facts, command: measurement.command)
        // One channel for both: llama-cli's rates line (stdout) is in the merged tail too. The
        // figures of runs nested in this one (a router's llama.cpp under airun) are theirs: counted
        // here too, a trace's tokens would be counted twice.
        let merged = measurement.run?.outputMerged ?? false
        let own = NestedRunSummary.last(in: facts.stderr).map { String($0.after) } ?? facts.stderr
        findings.performance = LlamaPerformance.parse(stderr: own, stdout: merged ? own : facts.stdout)
        return findings
    }

    /// What is wrong with an attempt described by `facts` that ran `command` (when known):
    /// nothing for a success.
    func findings(for facts: AttemptFacts, command: [String]?) -> AttemptFindings {
        guard !facts.succeeded else { return AttemptFindings() }
        var facts = facts
        // The model file is looked at only for a failure: a success should not pay for it.
        if let command, let program = command.first {
            // Under a wrapper (`prlimit … llama-completion`, `nice`, `env`), the program is the llama.cpp one it runs.
            facts.program = command.first { fileName($0).hasPrefix("llama-") } ?? program
            if let model = ModelArgument.find(in: command) { facts.modelFile = inspectModelFile(model.path) }
        }
        return AttemptFindings(verdict: verdict(for: facts, command: command), modelFile: facts.modelFile,
                               exception: PythonException.parse(facts.stderr))
    }

    private func verdict(for facts: AttemptFacts, command: [String]?) -> Verdict? {
        guard var verdict = Classifier(extraRules: rules).classify(facts) else { return nil }
        if verdict.evidenceLost, verdict.code == .nonzeroExit, let command {
            switch promptCheck(command) {
            case .overflow(let overflow):
                verdict = Verdict(code: .promptTooLong, retryable: ErrorCode.promptTooLong.retryableByDefault,
                                  evidence: overflow.evidence, rule: "prompt-check", evidenceLost: true)
            case .gaveUp(let why):
                verdict.evidence += verdict.evidence.isEmpty ? "prompt check gave up: \(why)" : " (prompt check gave up: \(why))"
            case .fits, nil: break
            }
        }
        return verdict
    }

    /// What a llama.cpp attempt would fail on before its model even loads: a model file that
    /// cannot load, or a prompt its context provably cannot hold. Both are cheap and bounded (a
    /// header read; the prompt check's own budget, which gives up rather than take long).
    func preflight(_ command: [String]) -> (verdict: Verdict, modelFile: GGUFCheck?)? {
        guard let program = command.first, fileName(program).hasPrefix("llama-"), let model = ModelArgument.find(in: command) else { return nil }
        let file = inspectModelFile(model.path)
        if let code = file.suggestedCode {
            return (Verdict(code: code, retryable: code.retryableByDefault, evidence: "model file \(model.path): \(file.problem ?? "")",
                            rule: "preflight"), file)
        }
        if case .overflow(let overflow)? = promptCheck(command) {
            return (Verdict(code: .promptTooLong, retryable: ErrorCode.promptTooLong.retryableByDefault, evidence: overflow.evidence,
                            rule: "preflight"), file)
        }
        return nil
    }

    /// Whether the command's prompt provably needs more tokens than its context holds, from the
    /// model's vocabulary and context length in its GGUF header.
    func promptCheck(_ command: [String]) -> PromptOverflow.Outcome? {
        guard let request = LlamaPromptRequest.find(in: command, environment: environment),
              let model = ModelArgument.find(in: command) else { return nil }
        // The vocabulary sits early in the header: 4 MiB hold most (Llama 3's is 2 MB), 32 MiB any.
        var vocabulary: GGUFVocabulary?
        for size in [4 << 20, 32 << 20] where vocabulary == nil {
            guard let header = try? readFileHeader(model.path, count: size) else { return nil }
            vocabulary = GGUFVocabulary.read(header: header.bytes)
            if header.size <= Int64(size) { break }
        }
        guard let vocabulary else { return nil }
        var contents: [UInt8]?
        if case .file(let path) = request.source { contents = (try? readFileHeader(path, count: 64 << 20))??.bytes }
        guard let prompt = request.promptBytes(fileContents: contents) else { return nil }
        return PromptOverflow.evaluate(request, prompt: prompt, vocabulary: vocabulary)
    }
}
