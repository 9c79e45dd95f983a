import Kernels

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
    /// Most rows a forward pass multiplies with the quantised kernels (block or panel) on the
    /// stored q4_1/q8_0 weights; larger batches decode weight tiles to f32 for OpenBLAS's sgemm.
    /// Measured with `arbor bench engine --quantized-row-limit` (SmolLM2-135M Q4_1, 2 cores):
    /// - with panel kernels (AVX-512, AVX2), every batch up to `maxBatchRows`: a 291-token prefill
    ///   ran 1009 tok/s on the panels against 710–737 on sgemm (AMD EPYC, AVX-512); on the AVX2
    ///   path the two were even (738–761 against 763);
    /// - without them, 64: before the panels existed, decode B=32 ran 241 tok/s on the block
    ///   kernels against 92 on tiled sgemm, B=64 still 209, but a 256-row prefill chunk ran
    ///   438 tok/s on sgemm against 327 (Intel Xeon, 2 AVX-512 cores).
    public var quantizedRowLimit: Int = QuantizedGemm.hasPanelKernel(.best) ? 256 : 64
    /// Most rows multiplied with the block kernels where the path has panel kernels (AVX-512,
    /// AVX2); from there to `quantizedRowLimit` the panels run. Measured with `arbor bench engine
    /// --block-row-limit` (same machine): decode B=8 ran 450 tok/s on the block kernels against
    /// 310 on the panels, B=16 495 against 525, B=32 (panels) 660–686 against 555 on the blocks;
    /// on the AVX2 path, B=8 371 against 270, B=16 (panels) 481 against 431.
    public var blockRowLimit: Int = 8
    /// Longest sequence allowed; nil means the model's training context length.
    public var maxContext: Int? = nil

    /// The defaults: 2 threads, 64k cached tokens, 32-token blocks, 256-row chunks.
    public init() {}
}
