import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Head geometry of grouped-query attention (Ainslie et al. 2023): `heads` query heads share
/// `kvHeads` key/value heads, query head h reading kv head h / (heads / kvHeads).
public struct AttentionGeometry: Sendable, Equatable {
    /// Query heads.
    public var heads: Int
    /// Key/value heads (divides `heads`).
    public var kvHeads: Int
    /// Floats per head.
    public var headDim: Int
    /// Tokens per KV-cache block.
    public var blockSize: Int

    /// A geometry; `heads` must be a multiple of `kvHeads`.
    public init(heads: Int, kvHeads: Int, headDim: Int, blockSize: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.blockSize = blockSize
    }

    /// Query heads per kv head.
    public var groupSize: Int { heads / kvHeads }
    /// Floats of one token's keys (or values): kvHeads × headDim.
    public var kvStride: Int { kvHeads * headDim }
    /// Floats of one query row: heads × headDim.
    public var queryStride: Int { heads * headDim }
    /// Floats of one block's keys (or values) in one layer.
    public var blockStride: Int { blockSize * kvStride }
}

/// Causal grouped-query attention of a batch of query rows over a block-structured KV cache,
/// following an `AttentionPlan`: softmax(q·Kᵀ/√d) · V per head.
///
/// The KV heads are independent, so they (times groups of rows) are the parts a `ComputeTeam`
/// shares out. Per KV head, the scores of each block's readers (its rows' query heads of that KV
/// head) come from one C kernel call (one dot product per reader and cached token, in the widest
/// vectors the CPU has), softmax (also C) runs per row and head over exactly the visible
/// positions (max subtracted first), and the probability-weighted values are summed block by
/// block, again all of a block's readers in one call. A block shared by many readers (a tree's
/// common prefix) is thus streamed through the kernel once for all of them. Not thread-safe.
public final class GroupedQueryAttention {
    /// The head geometry.
    public let geometry: AttentionGeometry
    /// The instruction path of the score and value kernels.
    public let path: KernelPath
    private var scores = ScratchBuffer<Float>()
    /// Per head and reader entry, the pointers the C kernels take. Reserved here, on the calling
    /// thread, so that the team's helper threads never allocate: each reload starts a new team,
    /// and a helper's first malloc gives it an arena whose pages stay resident after it is gone.
    private var queryPointers = ScratchBuffer<UnsafePointer<Float>?>()
    private var scorePointers = ScratchBuffer<UnsafeMutablePointer<Float>?>()
    private var outputPointers = ScratchBuffer<UnsafeMutablePointer<Float>?>()

    /// An attention kernel for `geometry`.
    public init(geometry: AttentionGeometry, path: KernelPath = .best) {
        self.geometry = geometry
        self.path = path
    }

    // Each policy reload builds a new engine, so the scratch must go with its kernel.
    deinit {
        scores.release()
        queryPointers.release()
        scorePointers.release()
        outputPointers.release()
    }

    /// out (rows × heads·headDim) = attention of `queries` (rows × heads·headDim, already rotated)
    /// over the cached keys/values of one layer, its heads shared out over `team` when given.
    ///
    /// `keyBase`/`valueBase` point at block 0 of the layer's pools; block `i` starts at
    /// `i * geometry.blockStride`, tokens within a block are `kvStride` apart.
    public func run(
        queries: UnsafePointer<Float>, plan: AttentionPlan, keyBase: UnsafePointer<Float>,
        valueBase: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, team: ComputeTeam? = nil
    ) {
        let pointerCount = geometry.heads * plan.readerRows.count
        let work = KVHeadAttention(
            geometry: geometry, path: path.cPath, plan: plan, queries: queries, keyBase: keyBase, valueBase: valueBase,
            scores: scores.reserve(plan.rows * geometry.heads * plan.scoreStride),
            queryPointers: queryPointers.reserve(pointerCount), scorePointers: scorePointers.reserve(pointerCount),
            outputPointers: outputPointers.reserve(pointerCount), out: out)
        // KV heads × groups of rows: SmolLM2's three KV heads alone would leave one of two threads
        // idle a third of the time.
        let kvHeads = geometry.kvHeads, rowGroups = max(1, min(team?.size ?? 1, plan.rows))
        let parts = kvHeads * rowGroups
        func run(part: Int) {
            let group = part % rowGroups
            work.run(kvHead: part / rowGroups, rows: plan.rows * group / rowGroups..<plan.rows * (group + 1) / rowGroups)
        }
        if let team {
            team.run(parts: parts) { run(part: $0) }
        } else {
            for part in 0..<parts { run(part: part) }
        }
    }

    /// Reference: one query row (heads·headDim) over `length` contiguous cached tokens
    /// (keys/values `length × kvHeads·headDim`), straight from the formula in Double.
    public static func naive(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, length: Int,
        geometry g: AttentionGeometry, into out: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Double(g.headDim).squareRoot()
        for h in 0..<g.heads {
            let kv = h / g.groupSize
            var weights = [Double](repeating: 0, count: length)
            for t in 0..<length {
                var dot = 0.0
                for d in 0..<g.headDim {
                    dot += Double(query[h * g.headDim + d]) * Double(keys[t * g.kvStride + kv * g.headDim + d])
                }
                weights[t] = dot * scale
            }
            let m = weights.max() ?? 0
            let total = weights.reduce(0) { $0 + exp($1 - m) }
            for d in 0..<g.headDim {
                var sum = 0.0
                for t in 0..<length {
                    sum += exp(weights[t] - m) / total * Double(values[t * g.kvStride + kv * g.headDim + d])
                }
                out[h * g.headDim + d] = Float(sum)
            }
        }
    }
}

/// One layer's attention for the query heads of one KV head over a range of rows at a time; each
/// such part writes its own parts of the scores and of `out`, so several may run at once.
///
/// The query heads of a KV head read the same keys and values, so each (row, query head) pair is
/// a reader of the blocks its row reads: a block's kernel call takes all of them, and even a
/// block only one row reads (a branch's own tail) meets its keys with the group's three queries
/// at once.
private struct KVHeadAttention: @unchecked Sendable {
    let geometry: AttentionGeometry
    let path: ck_path
    let plan: AttentionPlan
    let queries: UnsafePointer<Float>
    let keyBase: UnsafePointer<Float>
    let valueBase: UnsafePointer<Float>
    let scores: UnsafeMutablePointer<Float>  // rows × heads × scoreStride
    // heads × reader entries each: KV head k's readers from k·G·entries, reader entry e's query
    // heads at G·e ..< G·(e + 1) after that (G = groupSize).
    let queryPointers: UnsafeMutablePointer<UnsafePointer<Float>?>
    let scorePointers: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    let outputPointers: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    let out: UnsafeMutablePointer<Float>

    func run(kvHead: Int, rows: Range<Int>) {
        let g = geometry
        let group = g.groupSize
        let heads = kvHead * group..<(kvHead + 1) * group
        let stride = plan.scoreStride
        let kvOffset = kvHead * g.headDim
        let scale = 1 / Float(g.headDim).squareRoot()
        func scoreRow(_ row: Int, _ h: Int) -> UnsafeMutablePointer<Float> { scores + (row * g.heads + h) * stride }
        func outRow(_ row: Int, _ h: Int) -> UnsafeMutablePointer<Float> { out + row * g.queryStride + h * g.headDim }

        // Per reader (a block, one row reading it, one query head): where its query, its scores
        // for the block's tokens and its output are, so each block's kernel call takes them all.
        let entries = plan.readerRows.count
        let base = kvHead * group * entries
        let readerQueries = queryPointers + base, readerScores = scorePointers + base
        let readerOutputs = outputPointers + base
        for entry in 0..<entries where rows.contains(plan.readerRows[entry]) {
            let row = plan.readerRows[entry]
            for (j, h) in heads.enumerated() {
                let reader = entry * group + j
                readerQueries[reader] = UnsafePointer(queries + row * g.queryStride + h * g.headDim)
                readerScores[reader] = scoreRow(row, h) + plan.readerStarts[entry]
                readerOutputs[reader] = outRow(row, h)
            }
        }

        // Scores: S[row, h, start + t] = scale · q[row, h] · k[block, t, kvHead]. A reader that
        // sees fewer of the block's tokens than its furthest reader gets scores past its own
        // position too; the zeroing after softmax drops them.
        forEachBlock(readBy: rows, in: keyBase + kvOffset) { keys, tokens, first, count in
            ck_attention_scores(
                path, keys, g.kvStride, tokens, Int32(g.headDim), scale, count, readerQueries + first, readerScores + first)
        }

        // Softmax over the visible positions 0...last; the rest of the row is zeroed, and the
        // value sums skip zero weights.
        for row in rows {
            let visible = plan.lastPositions[row] + 1
            for h in heads {
                let r = scoreRow(row, h)
                ck_softmax(path, r, Int32(visible))
                if visible < stride { (r + visible).update(repeating: 0, count: stride - visible) }
                outRow(row, h).update(repeating: 0, count: g.headDim)
            }
        }

        // Values: out[row, h] = Σ_t P[row, h, t] · v[t, kvHead], the score pointers read as the
        // (const) weight pointers the kernel takes.
        forEachBlock(readBy: rows, in: valueBase + kvOffset) { values, tokens, first, count in
            (readerScores + first).withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: Int(count)) { weights in
                ck_attention_values(
                    path, values, g.kvStride, tokens, Int32(g.headDim), count, weights, readerOutputs + first)
            }
        }
    }

    /// Calls `body` for each block some of `rows` read, with where the block's rows of this KV
    /// head start in `pool` (block 0's keys or values at this KV head's offset), its token count,
    /// and the first and number of its readers among `rows`. The next block's rows are asked for
    /// before `body` multiplies this one: the cache does not hold a layer's blocks from one step
    /// to the next.
    private func forEachBlock(
        readBy rows: Range<Int>, in pool: UnsafePointer<Float>,
        _ body: (_ block: UnsafePointer<Float>, _ tokens: Int32, _ first: Int, _ count: Int32) -> Void
    ) {
        let g = geometry
        for (index, block) in plan.blocks.enumerated() {
            let mine = readers(of: block, in: rows)
            guard !mine.isEmpty else { continue }
            if index + 1 < plan.blocks.count {
                let next = plan.blocks[index + 1]
                ck_prefetch_rows(pool + next.index * g.blockStride, g.kvStride, Int32(next.tokenCount), Int32(g.headDim))
            }
            body(
                pool + block.index * g.blockStride, Int32(block.tokenCount), mine.lowerBound * g.groupSize,
                Int32(mine.count * g.groupSize))
        }
    }

    /// The reader entries of `block` whose rows are in `rows`: one run, as a block lists its
    /// readers in row order.
    private func readers(of block: AttentionPlan.Block, in rows: Range<Int>) -> Range<Int> {
        var lower = block.readers.lowerBound
        while lower < block.readers.upperBound, plan.readerRows[lower] < rows.lowerBound { lower += 1 }
        var upper = lower
        while upper < block.readers.upperBound, plan.readerRows[upper] < rows.upperBound { upper += 1 }
        return lower..<upper
    }
}

/// A scratch area that grows to the largest size requested and is then reused.
struct ScratchBuffer<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>? = nil
    private(set) var capacity = 0

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            capacity = max(count, capacity * 2, 64)
            pointer = .allocate(capacity: capacity)
        }
        return pointer!
    }

    /// Frees the area; the next `reserve` allocates again.
    mutating func release() {
        pointer?.deallocate()
        pointer = nil
        capacity = 0
    }
}
