/// The weights of one transformer block, as stored (q4_1/q8_0) or in f32, with fused projections.
public struct LlamaLayerWeights: Sendable {
    /// `blk.N.attn_norm.weight`: 1 × embedding.
    public let attentionNorm: WeightMatrix
    /// `blk.N.attn_q|attn_k|attn_v.weight` stacked: (queryWidth + 2·kvWidth) × embedding.
    public let qkv: WeightMatrix
    /// `blk.N.attn_output.weight`: embedding × queryWidth.
    public let attentionOutput: WeightMatrix
    /// `blk.N.ffn_norm.weight`: 1 × embedding.
    public let feedForwardNorm: WeightMatrix
    /// `blk.N.ffn_gate|ffn_up.weight` stacked: 2·feedForward × embedding (gate rows first).
    public let gateUp: WeightMatrix
    /// `blk.N.ffn_down.weight`: embedding × feedForward.
    public let down: WeightMatrix
}

/// All weights of a Llama-family model, kept in the file's q4_1/q8_0 blocks where it stores them
/// (f16 and other types are dequantised to f32 at load).
///
/// For SmolLM2-135M Q4_1 that is ≈ 95 MB instead of ≈ 540 MB of f32: small decode batches read
/// every weight once per step, so the bytes read are the time spent. The GGUF mapping is
/// released after loading, so only these copies stay resident.
public struct LlamaWeights: Sendable {
    /// `token_embd.weight`: vocabulary × embedding.
    public let tokenEmbedding: WeightMatrix
    /// The blocks, in order.
    public let layers: [LlamaLayerWeights]
    /// `output_norm.weight`: 1 × embedding.
    public let outputNorm: WeightMatrix
    /// `output.weight` (vocabulary × embedding), or the token embedding when the model ties them.
    public let output: WeightMatrix

    /// Bytes of all weight matrices as held in memory (a tied output counted once).
    public var residentBytes: Int {
        var total = tokenEmbedding.residentBytes + outputNorm.residentBytes
        if output !== tokenEmbedding { total += output.residentBytes }
        for layer in layers {
            for matrix in [layer.attentionNorm, layer.qkv, layer.attentionOutput, layer.feedForwardNorm, layer.gateUp, layer.down] {
                total += matrix.residentBytes
            }
        }
        return total
    }

    /// Loads every tensor the forward pass needs, checking each shape against
    /// `hyper`. Throws `.missingModelData`, `.badModelFile` or `.unsupported` naming the tensor.
    public init(file: GGUFFile, hyper h: LlamaHyperparameters) throws {
        let path = file.path
        func tensor(_ name: String, _ dims: [Int]) throws -> GGUFTensor {
            let t = try file.requireTensor(name)
            guard t.dims == dims else {
                throw WorkerError(.badModelFile, "\(path): tensor \(name) has shape \(t.dims), expected \(dims)")
            }
            return t
        }
        tokenEmbedding = try .loading(tensor("token_embd.weight", [h.embedding, h.vocabulary]), path: path)
        var layers: [LlamaLayerWeights] = []
        for i in 0..<h.layers {
            let p = "blk.\(i)."
            layers.append(
                LlamaLayerWeights(
                    attentionNorm: try .loading(tensor(p + "attn_norm.weight", [h.embedding]), path: path),
                    qkv: try .stacking(
                        [
                            tensor(p + "attn_q.weight", [h.embedding, h.queryWidth]),
                            tensor(p + "attn_k.weight", [h.embedding, h.kvWidth]),
                            tensor(p + "attn_v.weight", [h.embedding, h.kvWidth]),
                        ], columns: h.embedding, path: path),
                    attentionOutput: try .loading(tensor(p + "attn_output.weight", [h.queryWidth, h.embedding]), path: path),
                    feedForwardNorm: try .loading(tensor(p + "ffn_norm.weight", [h.embedding]), path: path),
                    gateUp: try .stacking(
                        [
                            tensor(p + "ffn_gate.weight", [h.embedding, h.feedForward]),
                            tensor(p + "ffn_up.weight", [h.embedding, h.feedForward]),
                        ], columns: h.embedding, path: path),
                    down: try .loading(tensor(p + "ffn_down.weight", [h.feedForward, h.embedding]), path: path)))
        }
        self.layers = layers
        outputNorm = try .loading(tensor("output_norm.weight", [h.embedding]), path: path)
        if file.tensor("output.weight") != nil {
            output = try .loading(tensor("output.weight", [h.embedding, h.vocabulary]), path: path)
        } else {
            output = tokenEmbedding
        }
    }
}
