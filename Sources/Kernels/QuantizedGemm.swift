import CKernels

/// Matrix products with weights kept in their stored block format (q4_1 or q8_0), for the
/// bandwidth-bound small batches of decoding: each weight byte is read once per product, each
/// block decoded in registers and shared by all activation rows, and multiplied in f32.
///
/// Activations stay f32. Quantising them (llama.cpp's q8_1) was tried: int8 moved SmolLM2's
/// logits by up to 0.6 from the f32 reference and int16 still put replayed log-probs 1.4e-3 off,
/// so the only difference from `naiveMultiplyTransposed` is the order of the f32 sums.
public enum QuantizedGemm {
    /// The weight formats the block kernels multiply.
    public static func multiplies(_ format: QuantFormat) -> Bool {
        format == .q4_1 || format == .q8_0
    }

    /// C (m×n) = A·Wᵀ (adds to C when `accumulate`), A m rows of k floats (row stride `lda`), W
    /// n rows of k in `format` (q4_1 or q8_0, rows back to back, k a multiple of 32). With a `team`,
    /// the rows of W are split into parts of at least 64 rows over its threads, each part writing
    /// its own columns of C.
    public static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ w: UnsafeRawPointer, format: QuantFormat,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false,
        path: KernelPath = .best, team: ComputeTeam? = nil
    ) {
        precondition(multiplies(format), "QuantizedGemm multiplies q4_1 and q8_0 weights, not \(format)")
        guard m > 0, n > 0 else { return }
        // Four parts per thread: a thread slowed by other work on its core takes fewer of them.
        let job = RowSplit(
            a: a, lda: lda, w: w, q4: format == .q4_1, c: c, ldc: ldc, m: m, n: n, k: k, accumulate: accumulate,
            path: path.cPath, parts: team.map { max(1, min(4 * $0.size, n / 64)) } ?? 1)
        if let team {
            team.run(parts: job.parts) { job.run(part: $0) }
        } else {
            job.run(part: 0)
        }
    }

    /// Reference for `multiplyTransposed`: dequantises W to f32 and runs the naive triple loop on
    /// the unquantised A (m×k, row stride `lda`).
    public static func naiveMultiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ w: UnsafeRawPointer, format: QuantFormat,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false
    ) {
        let dense = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        defer { dense.deallocate() }
        Dequantize.run(format, from: w, count: n * k, into: dense)
        Gemm.naiveMultiplyTransposed(a, lda: lda, dense, ldb: k, into: c, ldc: ldc, m: m, n: n, k: k, accumulate: accumulate)
    }

    /// Decodes rows [begin, end) of W (k columns, q4_1 or q8_0) into `out`, (end − begin) × k floats.
    /// Every path decodes the same floats.
    public static func dequantizeRows(
        _ w: UnsafeRawPointer, format: QuantFormat, k: Int, rows: Range<Int>, into out: UnsafeMutablePointer<Float>,
        path: KernelPath = .best
    ) {
        precondition(multiplies(format), "QuantizedGemm decodes q4_1 and q8_0 rows, not \(format)")
        let (begin, end) = (Int32(rows.lowerBound), Int32(rows.upperBound))
        if format == .q4_1 {
            ck_dequantize_rows_q4_1(path.cPath, w, Int32(k), begin, end, out)
        } else {
            ck_dequantize_rows_q8_0(path.cPath, w, Int32(k), begin, end, out)
        }
    }

    /// C (m×n) = A·Wᵀ (adds when `accumulate`) through sgemm, for batches large enough that
    /// OpenBLAS's f32 kernels beat the block ones: W is decoded `tile.count / k` rows at a time
    /// into `tile` and each slice of rows multiplied at once, so only one tile is ever in f32. (The
    /// decoding stays on the calling thread: sharing it over the engine's team measured no faster,
    /// its spinning helper then competing with OpenBLAS's threads.)
    public static func multiplyTransposedDequantizing(
        _ a: UnsafePointer<Float>, lda: Int, _ w: UnsafeRawPointer, format: QuantFormat,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false,
        tile: UnsafeMutableBufferPointer<Float>, path: KernelPath = .best
    ) {
        guard let scratch = tile.baseAddress else { return }
        let tileRows = max(1, tile.count / k)
        var row = 0
        while row < n {
            let end = min(n, row + tileRows)
            dequantizeRows(w, format: format, k: k, rows: row..<end, into: scratch, path: path)
            Gemm.multiplyTransposed(
                a, lda: lda, scratch, ldb: k, into: c + row, ldc: ldc, m: m, n: end - row, k: k, accumulate: accumulate)
            row = end
        }
    }
}

/// One quantised product split into `parts` ranges of weight rows; each part writes only its own
/// columns of C, so the parts may run on different threads at once.
private struct RowSplit: @unchecked Sendable {
    let a: UnsafePointer<Float>
    let lda: Int
    let w: UnsafeRawPointer
    let q4: Bool
    let c: UnsafeMutablePointer<Float>
    let ldc, m, n, k: Int
    let accumulate: Bool
    let path: ck_path
    let parts: Int

    func run(part: Int) {
        let begin = Int32(n * part / parts)
        let end = Int32(n * (part + 1) / parts)
        let add: Int32 = accumulate ? 1 : 0
        if q4 {
            ck_matmul_q4_1(path, w, Int32(k), begin, end, a, lda, Int32(m), c, ldc, add)
        } else {
            ck_matmul_q8_0(path, w, Int32(k), begin, end, a, lda, Int32(m), c, ldc, add)
        }
    }
}
