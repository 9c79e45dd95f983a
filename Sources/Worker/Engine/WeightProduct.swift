import Kernels

/// How a forward pass multiplies by weight matrices, and the scratch it does so in (allocated
/// once, sized for the largest batch and the widest matrix).
///
/// Quantised weights take one of three routes by the batch's row count m:
/// - m ≤ `blockRowLimit`: the block kernels. Reading the weights dominates there, and they read
///   each q4_1 byte once per batch, ~6× fewer bytes than f32.
/// - up to `quantizedRowLimit`: the panel kernels where the path has them (AVX-512, AVX2): the batch
///   is compute-bound, and an outer product on decoded panels beats the block kernels' per-row
///   horizontal sums. (Without panel kernels, the block kernels go on to this limit.)
/// - above it: weight tiles decoded to f32 for OpenBLAS's sgemm.
/// Not thread-safe (one per forward pass).
final class WeightProduct {
    /// The C kernels' instruction path.
    let path: KernelPath
    /// Most rows multiplied by the block kernels when the path has panel kernels.
    let blockRowLimit: Int
    /// Most rows multiplied by the quantised kernels (block or panel); more go through sgemm.
    let quantizedRowLimit: Int
    /// The threads that split a quantised product's weight rows.
    let team: ComputeTeam
    private let tile: UnsafeMutableBufferPointer<Float>  // tileFloats floats of decoded weights
    private let packed: UnsafeMutableBufferPointer<Float>  // transposed activations for the panels

    /// Floats of the decoded tile for sgemm (8 MB). It holds SmolLM2-135M's largest layer matrix
    /// (gate|up, 3072×576) whole, so each product is one sgemm call that packs the activations
    /// once; 1 MB tiles (455 rows) re-packed them per slice and cut a 291-token prefill from
    /// 375 to 263 tok/s (`arbor bench engine`, 2 AVX-512 cores).
    static let tileFloats = 2048 * 1024

    init(
        maxRows: Int, maxColumns: Int, blockRowLimit: Int, quantizedRowLimit: Int, team: ComputeTeam,
        path: KernelPath = .best
    ) {
        self.path = path
        self.blockRowLimit = blockRowLimit
        self.quantizedRowLimit = quantizedRowLimit
        self.team = team
        tile = .allocate(capacity: max(Self.tileFloats, maxColumns))
        let panelRows = QuantizedGemm.hasPanelKernel(path) ? min(maxRows, quantizedRowLimit) : 0
        packed = .allocate(capacity: max(1, QuantizedGemm.packedActivationFloats(m: panelRows, k: maxColumns)))
    }

    deinit {
        tile.deallocate()
        packed.deallocate()
    }

    /// C (m×w.rows) = A (m×w.columns, row stride `lda`) · Wᵀ; adds to C when `accumulate`.
    func multiply(
        _ a: UnsafePointer<Float>, lda: Int, by w: WeightMatrix, into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int,
        accumulate: Bool = false
    ) {
        let k = w.columns
        if w.format == .f32 {
            Gemm.multiplyTransposed(
                a, lda: lda, w.floats, ldb: k, into: c, ldc: ldc, m: m, n: w.rows, k: k, accumulate: accumulate)
        } else if m <= blockRowLimit || (m <= quantizedRowLimit && !QuantizedGemm.hasPanelKernel(path)) {
            QuantizedGemm.multiplyTransposed(
                a, lda: lda, w.bytes, format: w.format, into: c, ldc: ldc, m: m, n: w.rows, k: k,
                accumulate: accumulate, path: path, team: team)
        } else if m <= quantizedRowLimit {
            QuantizedGemm.multiplyTransposedPanels(
                a, lda: lda, w.bytes, format: w.format, into: c, ldc: ldc, m: m, n: w.rows, k: k,
                accumulate: accumulate, packed: packed, path: path, team: team)
        } else {
            QuantizedGemm.multiplyTransposedDequantizing(
                a, lda: lda, w.bytes, format: w.format, into: c, ldc: ldc, m: m, n: w.rows, k: k,
                accumulate: accumulate, tile: tile, path: path)
        }
    }

    /// Copies row `row` of `w` into `out` (`w.columns` floats), decoding it if quantised: the
    /// embedding lookup.
    func copyRow(_ row: Int, of w: WeightMatrix, into out: UnsafeMutablePointer<Float>) {
        if w.format == .f32 {
            out.update(from: w.floats + row * w.columns, count: w.columns)
        } else {
            QuantizedGemm.dequantizeRows(w.bytes, format: w.format, k: w.columns, rows: row..<(row + 1), into: out)
        }
    }
}
