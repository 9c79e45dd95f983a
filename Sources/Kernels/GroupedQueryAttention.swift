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
/// Per block and kv head, the scores of all the block's readers come from one `sgemm` (queries
/// of shared blocks are gathered first), softmax runs per row and head over exactly the visible
/// positions (max subtracted first), and the probability-weighted values come from a second
/// `sgemm`. Scratch grows to the largest batch seen and is then reused. Not thread-safe.
public final class GroupedQueryAttention {
    /// The head geometry.
    public let geometry: AttentionGeometry
    private var scores = ScratchBuffer()
    private var gatheredQueries = ScratchBuffer()
    private var gatheredProducts = ScratchBuffer()

    /// An attention kernel for `geometry`.
    public init(geometry: AttentionGeometry) {
        self.geometry = geometry
    }

    // Each policy reload builds a new engine, so the scratch must go with its kernel.
    deinit {
        scores.release()
        gatheredQueries.release()
        gatheredProducts.release()
    }

    /// out (rows × heads·headDim) = attention of `queries` (rows × heads·headDim, already rotated)
    /// over the cached keys/values of one layer.
    ///
    /// `keyBase`/`valueBase` point at block 0 of the layer's pools; block `i` starts at
    /// `i * geometry.blockStride`, tokens within a block are `kvStride` apart.
    public func run(
        queries: UnsafePointer<Float>, plan: AttentionPlan, keyBase: UnsafePointer<Float>,
        valueBase: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let g = geometry
        let rows = plan.rows
        let stride = plan.scoreStride
        let groupFloats = g.groupSize * g.headDim
        let scale = 1 / Float(g.headDim).squareRoot()
        let s = scores.reserve(rows * g.heads * stride)
        var maxReaders = 0
        for block in plan.blocks { maxReaders = max(maxReaders, block.readers.count) }
        let q = gatheredQueries.reserve(maxReaders * groupFloats)
        let p = gatheredProducts.reserve(maxReaders * g.groupSize * max(g.blockSize, g.headDim))

        // Scores: S[row, head, start + t] = scale · q[row, head] · k[block, t, head / groupSize].
        for block in plan.blocks {
            let keys = keyBase + block.index * g.blockStride
            let n = block.tokenCount
            for kv in 0..<g.kvHeads {
                if block.readers.count == 1 {
                    // A private block: too small for sgemm's call and packing overhead.
                    let row = plan.readerRows[block.readers.lowerBound]
                    let start = plan.readerStarts[block.readers.lowerBound]
                    for h in 0..<g.groupSize {
                        let q = queries + row * g.queryStride + (kv * g.groupSize + h) * g.headDim
                        let target = s + (row * g.heads + kv * g.groupSize + h) * stride + start
                        for t in 0..<n {
                            target[t] = scale * Self.dot(q, keys + t * g.kvStride + kv * g.headDim, count: g.headDim)
                        }
                    }
                    continue
                }
                for (i, reader) in block.readers.enumerated() {
                    let source = queries + plan.readerRows[reader] * g.queryStride + kv * groupFloats
                    (q + i * groupFloats).update(from: source, count: groupFloats)
                }
                Gemm.multiplyTransposed(
                    q, lda: g.headDim, keys + kv * g.headDim, ldb: g.kvStride,
                    into: p, ldc: n, m: block.readers.count * g.groupSize, n: n, k: g.headDim, alpha: scale)
                for (i, reader) in block.readers.enumerated() {
                    let row = plan.readerRows[reader]
                    let start = plan.readerStarts[reader]
                    for h in 0..<g.groupSize {
                        (s + (row * g.heads + kv * g.groupSize + h) * stride + start)
                            .update(from: p + (i * g.groupSize + h) * n, count: n)
                    }
                }
            }
        }

        // Softmax over the visible positions 0...last; zero the rest of the row so the value
        // product can read whole blocks.
        for row in 0..<rows {
            let visible = plan.lastPositions[row] + 1
            for h in 0..<g.heads {
                let r = s + (row * g.heads + h) * stride
                Softmax.run(r, count: visible)
                if visible < stride { (r + visible).update(repeating: 0, count: stride - visible) }
            }
        }

        // Values: out[row, head] = Σ_t P[row, head, t] · v[t, head / groupSize].
        out.update(repeating: 0, count: rows * g.queryStride)
        for block in plan.blocks {
            let values = valueBase + block.index * g.blockStride
            let n = block.tokenCount
            for kv in 0..<g.kvHeads {
                if block.readers.count == 1 {
                    let row = plan.readerRows[block.readers.lowerBound]
                    let start = plan.readerStarts[block.readers.lowerBound]
                    for h in 0..<g.groupSize {
                        let weights = s + (row * g.heads + kv * g.groupSize + h) * stride + start
                        let target = out + row * g.queryStride + (kv * g.groupSize + h) * g.headDim
                        for t in 0..<n where weights[t] != 0 {
                            Self.addScaled(values + t * g.kvStride + kv * g.headDim, weights[t], into: target, count: g.headDim)
                        }
                    }
                    continue
                }
                for (i, reader) in block.readers.enumerated() {
                    let row = plan.readerRows[reader]
                    let start = plan.readerStarts[reader]
                    for h in 0..<g.groupSize {
                        (p + (i * g.groupSize + h) * n)
                            .update(from: s + (row * g.heads + kv * g.groupSize + h) * stride + start, count: n)
                    }
                }
                Gemm.multiply(
                    p, lda: n, values + kv * g.headDim, ldb: g.kvStride,
                    into: q, ldc: g.headDim, m: block.readers.count * g.groupSize, n: g.headDim, k: n)
                for (i, reader) in block.readers.enumerated() {
                    let target = out + plan.readerRows[reader] * g.queryStride + kv * groupFloats
                    let source = q + i * groupFloats
                    for j in 0..<groupFloats { target[j] += source[j] }
                }
            }
        }
    }

    /// Σ a[i]·b[i] over `count` floats, in 8 lanes.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var sum = lanes.sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// y += w · x over `count` floats.
    @inline(__always)
    static func addScaled(_ x: UnsafePointer<Float>, _ w: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += w * x[i] }
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

/// A float scratch area that grows to the largest size requested and is then reused.
struct ScratchBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>? = nil
    private(set) var capacity = 0

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
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
