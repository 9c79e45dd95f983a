import Kernels

/// One batch for the forward pass: token rows, each at a position of some sequence, with the
/// cache slot its keys and values go to and the attention plan over the cache.
struct ForwardBatch {
    /// Token id of each row.
    var tokens: [Int] = []
    /// Position of each row in its sequence (RoPE angle and causal limit).
    var positions: [Int] = []
    /// Cache (block, row) each row writes.
    var slots: [(block: Int, row: Int)] = []
    /// Which cache blocks each row attends to.
    var plan = AttentionPlan()
    /// Rows whose next-token logits are wanted, in output order.
    var logitRows: [Int] = []

    var count: Int { tokens.count }
}

/// The Llama forward pass over a batch of token rows on a block KV cache.
///
/// Follows llama.cpp's `llm_build_llama` (https://github.com/ggml-org/llama.cpp, src/llama-model.cpp)
/// in order: per block, RMSNorm → q/k/v projections → normal RoPE on q and k → cache write →
/// grouped-query attention → output projection + residual → RMSNorm → SwiGLU feed-forward +
/// residual; then the output norm and the (tied) vocabulary projection for the requested rows.
/// The parallel axis is the batch row: every projection is one product with M = rows (integer
/// kernels on the stored blocks for small M, sgemm for large M; see `WeightProduct`), so a decode
/// step of B sequences reads each weight matrix once.
///
/// Scratch is sized for `maxRows` rows at init; the forward pass allocates nothing else except the
/// attention kernel's score area, which grows to the longest context seen. Not thread-safe.
final class LlamaForwardPass {
    let model: LlamaModel
    let maxRows: Int
    let rope: RoPETable
    let attention: GroupedQueryAttention
    let product: WeightProduct
    /// The threads that share each weight product and each layer's attention heads.
    let team: ComputeTeam
    private let residual: UnsafeMutablePointer<Float>  // rows × embedding
    private let normed: UnsafeMutablePointer<Float>  // rows × embedding
    private let qkv: UnsafeMutablePointer<Float>  // rows × (queryWidth + 2·kvWidth)
    private let queries: UnsafeMutablePointer<Float>  // rows × queryWidth
    private let attended: UnsafeMutablePointer<Float>  // rows × queryWidth
    private let gateUp: UnsafeMutablePointer<Float>  // rows × 2·feedForward
    private let hidden: UnsafeMutablePointer<Float>  // rows × feedForward
    private var logitBuffer: UnsafeMutablePointer<Float>
    private var logitCapacity: Int

    init(
        model: LlamaModel, maxRows: Int, maxPositions: Int, blockSize: Int, blockRowLimit: Int, quantizedRowLimit: Int,
        threads: Int
    ) {
        let h = model.hyper
        self.model = model
        self.maxRows = maxRows
        rope = RoPETable(dimensions: h.ropeDimensions, base: h.ropeBase, maxPositions: maxPositions)
        attention = GroupedQueryAttention(
            geometry: AttentionGeometry(heads: h.heads, kvHeads: h.kvHeads, headDim: h.headDim, blockSize: blockSize))
        team = ComputeTeam(threads: threads)
        product = WeightProduct(
            maxRows: maxRows, maxColumns: max(h.embedding, h.queryWidth, h.feedForward), blockRowLimit: blockRowLimit,
            quantizedRowLimit: min(maxRows, quantizedRowLimit), team: team)
        func buffer(_ width: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * width)
            p.initialize(repeating: 0, count: maxRows * width)
            return p
        }
        residual = buffer(h.embedding)
        normed = buffer(h.embedding)
        qkv = buffer(h.queryWidth + 2 * h.kvWidth)
        queries = buffer(h.queryWidth)
        attended = buffer(h.queryWidth)
        gateUp = buffer(2 * h.feedForward)
        hidden = buffer(h.feedForward)
        logitCapacity = 1
        logitBuffer = .allocate(capacity: h.vocabulary)
    }

    deinit {
        for p in [residual, normed, qkv, queries, attended, gateUp, hidden, logitBuffer] { p.deallocate() }
    }

    /// Runs `batch` (≤ maxRows rows, token ids and positions already validated) through the model,
    /// writing every row's keys and values into `cache`. Returns the logits of `batch.logitRows`,
    /// `logitRows.count × vocabulary` floats, valid until the next call.
    func run(_ batch: ForwardBatch, cache: KVCache) -> UnsafeMutablePointer<Float> {
        let h = model.hyper
        let w = model.weights
        let rows = batch.count
        let e = h.embedding
        let qkvWidth = h.queryWidth + 2 * h.kvWidth

        // token_embd.weight: look up each row's embedding.
        for (r, token) in batch.tokens.enumerated() {
            product.copyRow(token, of: w.tokenEmbedding, into: residual + r * e)
        }

        for (l, layer) in w.layers.enumerated() {
            // blk.l.attn_norm, then attn_q|attn_k|attn_v as one product.
            RMSNorm.run(residual, weight: layer.attentionNorm.floats, epsilon: h.normEpsilon, into: normed, rows: rows, n: e)
            product.multiply(normed, lda: e, by: layer.qkv, into: qkv, ldc: qkvWidth, m: rows)
            for r in 0..<rows {
                let row = qkv + r * qkvWidth
                let position = batch.positions[r]
                rope.apply(row, heads: h.heads, headDim: h.headDim, position: position)
                rope.apply(row + h.queryWidth, heads: h.kvHeads, headDim: h.headDim, position: position)
                (queries + r * h.queryWidth).update(from: row, count: h.queryWidth)
                let slot = batch.slots[r]
                cache.keySlot(layer: l, block: slot.block, row: slot.row).update(from: row + h.queryWidth, count: h.kvWidth)
                cache.valueSlot(layer: l, block: slot.block, row: slot.row)
                    .update(from: row + h.queryWidth + h.kvWidth, count: h.kvWidth)
            }
            attention.run(
                queries: queries, plan: batch.plan, keyBase: cache.keyBase(layer: l), valueBase: cache.valueBase(layer: l),
                into: attended, team: team)
            // blk.l.attn_output, added to the residual stream.
            product.multiply(
                attended, lda: h.queryWidth, by: layer.attentionOutput, into: residual, ldc: e, m: rows, accumulate: true)

            // blk.l.ffn_norm, ffn_gate|ffn_up, SwiGLU, ffn_down added to the residual stream.
            RMSNorm.run(residual, weight: layer.feedForwardNorm.floats, epsilon: h.normEpsilon, into: normed, rows: rows, n: e)
            let f = h.feedForward
            product.multiply(normed, lda: e, by: layer.gateUp, into: gateUp, ldc: 2 * f, m: rows)
            for r in 0..<rows {
                SwiGLU.run(gate: gateUp + r * 2 * f, up: gateUp + r * 2 * f + f, into: hidden + r * f, count: f)
            }
            product.multiply(hidden, lda: f, by: layer.down, into: residual, ldc: e, m: rows, accumulate: true)
        }

        // output_norm and the vocabulary projection (output.weight, or token_embd.weight if tied),
        // only for the rows whose logits are wanted.
        let wanted = batch.logitRows.count
        if wanted > logitCapacity {
            logitBuffer.deallocate()
            logitCapacity = wanted
            logitBuffer = .allocate(capacity: wanted * h.vocabulary)
        }
        for (i, r) in batch.logitRows.enumerated() {
            RMSNorm.run(residual + r * e, weight: w.outputNorm.floats, epsilon: h.normEpsilon, into: normed + i * e, rows: 1, n: e)
        }
        product.multiply(normed, lda: e, by: w.output, into: logitBuffer, ldc: h.vocabulary, m: wanted)
        return logitBuffer
    }
}
