/// How a run labels its records: the caller's ids and tags, and the caller's name for the model.
public struct RunLabels: Sendable {
    public var callerTraceID: String?
    public var tags = Tags()
    /// `--model-id`/`AIRUN_MODEL_ID`.
    public var callerModelID: String?
    /// The model the command asked for (`-m`), which the caller's name stands for.
    public var askedModelPath: String?

    public init() {}

    /// The model an attempt's command runs: by the caller's name while it is the model asked
    /// for; a fallback model (or any model without a caller name) by its file name.
    public func modelID(for command: [String]) -> String? {
        let model = ModelArgument.find(in: command)
        guard let callerModelID else { return model?.id }
        guard let model, let asked = askedModelPath, asked != model.path else { return callerModelID }
        return model.id
    }
}
