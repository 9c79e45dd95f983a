/// The shape of a Llama-family model, read from GGUF metadata (`{arch}.*` keys).
///
/// For SmolLM2-135M: 30 layers, width 576, 9 query heads and 3 kv heads of 64, feed-forward 1536,
/// vocabulary 49152, RoPE base 100000, RMSNorm ε 1e-5, tied output embedding.
public struct LlamaHyperparameters: Sendable, Equatable {
    /// Transformer blocks (`block_count`).
    public var layers: Int
    /// Residual width (`embedding_length`).
    public var embedding: Int
    /// Hidden width of the SwiGLU feed-forward (`feed_forward_length`).
    public var feedForward: Int
    /// Query heads (`attention.head_count`).
    public var heads: Int
    /// Key/value heads (`attention.head_count_kv`, default `heads`).
    public var kvHeads: Int
    /// Vocabulary size (rows of `token_embd.weight`).
    public var vocabulary: Int
    /// Training context length (`context_length`).
    public var contextLength: Int
    /// RoPE base θ (`rope.freq_base`, default 10000).
    public var ropeBase: Double
    /// Rotated dimensions per head (`rope.dimension_count`, default the head size).
    public var ropeDimensions: Int
    /// RMSNorm ε (`attention.layer_norm_rms_epsilon`).
    public var normEpsilon: Float

    /// Floats per attention head.
    public var headDim: Int { embedding / heads }
    /// Floats of all query heads of one token.
    public var queryWidth: Int { heads * headDim }
    /// Floats of all key (or value) heads of one token.
    public var kvWidth: Int { kvHeads * headDim }

    /// The architectures whose forward pass this engine implements.
    public static let supportedArchitectures: Set<String> = ["llama"]

    /// Reads and validates the hyperparameters of `file`.
    ///
    /// Throws `.unsupported` for another architecture or for shapes this forward pass cannot run
    /// (heads not dividing the width, kv heads not dividing the heads, odd rotary width), and
    /// `.missingModelData` for absent keys.
    public init(file: GGUFFile) throws {
        let arch = try file.requireArchitecture(in: Self.supportedArchitectures)
        func key(_ name: String) -> String { "\(arch).\(name)" }
        layers = try file.requireInt(key("block_count"))
        embedding = try file.requireInt(key("embedding_length"))
        feedForward = try file.requireInt(key("feed_forward_length"))
        heads = try file.requireInt(key("attention.head_count"))
        kvHeads = file.int(key("attention.head_count_kv")) ?? heads
        contextLength = file.int(key("context_length")) ?? 2048
        ropeBase = file.float(key("rope.freq_base")) ?? 10_000
        normEpsilon = Float(try file.requireFloat(key("attention.layer_norm_rms_epsilon")))
        let embeddingTensor = try file.requireTensor("token_embd.weight")
        vocabulary = embeddingTensor.rowCount
        guard layers > 0, embedding > 0, feedForward > 0, heads > 0, kvHeads > 0,
            embedding % heads == 0, heads % kvHeads == 0
        else {
            throw WorkerError(
                .unsupported,
                "\(file.path): unsupported shape: width \(embedding), \(heads) heads, \(kvHeads) kv heads")
        }
        ropeDimensions = file.int(key("rope.dimension_count")) ?? embedding / heads
        guard ropeDimensions % 2 == 0, ropeDimensions <= embedding / heads else {
            throw WorkerError(.unsupported, "\(file.path): \(key("rope.dimension_count")) = \(ropeDimensions) is not supported")
        }
        if let scaling = file.string(key("rope.scaling.type")), scaling != "none" {
            throw WorkerError(.unsupported, "\(file.path): RoPE scaling \(scaling) is not supported")
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw WorkerError(.unsupported, "\(file.path): per-dimension RoPE frequencies (rope_freqs) are not supported")
        }
    }
}
