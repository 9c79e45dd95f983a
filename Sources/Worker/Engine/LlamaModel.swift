/// A loaded Llama-family model: hyperparameters and weights (quantised as stored). Immutable and thread-safe;
/// any number of engines may share one.
public struct LlamaModel: Sendable {
    /// The model's shape.
    public let hyper: LlamaHyperparameters
    /// The weights.
    public let weights: LlamaWeights

    /// Loads the model at `path` (a GGUF file of a supported architecture and tensor types).
    ///
    /// The file is mapped only while loading. Throws `WorkerError` (`.io`, `.badModelFile`,
    /// `.unsupported`, `.missingModelData`) naming the file and the offending key or tensor.
    public init(path: String) throws {
        let file = try GGUFFile(path: path)
        try self.init(file: file)
    }

    /// Loads the model from an open GGUF file.
    public init(file: GGUFFile) throws {
        hyper = try LlamaHyperparameters(file: file)
        weights = try LlamaWeights(file: file, hyper: hyper)
    }
}
