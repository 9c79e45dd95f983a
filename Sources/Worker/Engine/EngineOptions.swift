/// Settings of an `InferenceEngine`.
public struct EngineOptions: Sendable, Equatable {
    /// Threads of the forward pass: the engine's `ComputeTeam` (block products, attention) and
    /// OpenBLAS's (set process-wide when the engine starts). The worker's cores are shared with
    /// sandboxes, so this is explicit rather than "all cores".
    public var threads: Int = 2
    /// Tokens the KV cache can hold across all live sequences; shared prefixes count once.
    /// Memory is committed only as it is used (≈ 46 KB per token for SmolLM2-135M).
    public var cacheTokens: Int = 65_536
    /// Tokens per KV-cache block: the copy-on-write granule of forks.
    public var blockSize: Int = 32
    /// Most rows one forward pass runs; longer prefills run in chunks of this size.
    public var maxBatchRows: Int = 256
    /// Most rows a forward pass multiplies with the block kernels on the stored q4_1/q8_0
    /// weights; larger batches decode weight tiles to f32 for OpenBLAS's sgemm. Measured with
    /// `arbor bench engine --quantized-row-limit` on 2 AVX-512 VNNI cores (SmolLM2-135M Q4_1):
    /// decode B=32 ran 241 tok/s quantised against 92 tiled-sgemm, B=64 still 209 quantised;
    /// a 256-row prefill chunk ran 438 tok/s on sgemm against 327 quantised.
    public var quantizedRowLimit: Int = 64
    /// Longest sequence allowed; nil means the model's training context length.
    public var maxContext: Int? = nil

    /// The defaults: 2 threads, 64k cached tokens, 32-token blocks, 256-row chunks.
    public init() {}
}
