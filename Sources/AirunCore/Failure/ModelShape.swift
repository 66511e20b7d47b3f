/// What a GGUF header says about a model's size: its layers and its trained context. What an
/// argument edit scales when the command never gave the argument (recent llama.cpp's `--fit`
/// chooses `-ngl` and `-c` itself when they are not given, so halving "nothing" must still halve).
public struct ModelShape: Equatable, Sendable {
    /// `<architecture>.block_count`: the repeating layers.
    public var blockCount: Int64?
    /// `<architecture>.context_length`: the context llama.cpp uses for `-c 0` or no `-c`.
    public var contextLength: Int64?

    public init(blockCount: Int64? = nil, contextLength: Int64? = nil) {
        self.blockCount = blockCount
        self.contextLength = contextLength
    }

    /// Every layer llama.cpp can offload: the repeating ones and the output layer.
    public var offloadableLayers: Int64? { blockCount.map { $0 + 1 } }

    /// The shape in a header; fields the header does not reach stay nil.
    public static func read(header bytes: [UInt8]) -> ModelShape {
        var architecture: String?
        var values: [String: Int64] = [:]
        var reader = GGUFReader(bytes)
        _ = reader.walkKeyValues { key, type, r in
            if key == "general.architecture", type == GGUFReader.stringType {
                architecture = r.string()
                return architecture != nil
            }
            if (key.hasSuffix(".block_count") || key.hasSuffix(".context_length")), GGUFReader.scalarSize[type] != nil {
                guard let n = r.scalar(type) else { return false }
                values[key] = Int64(clamping: n)
                return true
            }
            return r.skipValue(type)
        }
        guard let architecture else { return ModelShape() }
        return ModelShape(blockCount: values["\(architecture).block_count"], contextLength: values["\(architecture).context_length"])
    }
}
