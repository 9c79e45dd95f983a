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
        WeightRowSplit(
            kernel: .blocks(a: a, lda: lda), w: w, q4: format == .q4_1, c: c, ldc: ldc, m: m, n: n, k: k,
            accumulate: accumulate, path: path.cPath, granule: 1, parts: team.map { max(1, min(4 * $0.size, n / 64)) } ?? 1
        ).run(on: team)
    }

    /// The paths with a SIMD panel kernel (`multiplyTransposedPanels`); others run its scalar
    /// reference, correct but slower than the block kernels and sgemm.
    public static func hasPanelKernel(_ path: KernelPath) -> Bool {
        (path == .avx512 || path == .avx2) && path.isSupported
    }

    /// Floats of the packed activations `multiplyTransposedPanels` needs for m rows of k.
    public static func packedActivationFloats(m: Int, k: Int) -> Int {
        Int(ck_packed_width(Int32(m))) * k
    }

    /// C (m×n) = A·Wᵀ (adds when `accumulate`), as `multiplyTransposed`, for batches of a few
    /// dozen rows or more: A is transposed into `packed` (at least `packedActivationFloats(m:k:)`
    /// floats), then each part of W's rows is decoded 12 rows at a time and multiplied as an
    /// outer product (`ck_panel_q4_1`). Compute-bound batches run about twice as fast as on the
    /// block kernels, whose horizontal sums and reloaded activations dominate there. With a
    /// `team`, parts of whole 12-row panels are split over its threads.
    public static func multiplyTransposedPanels(
        _ a: UnsafePointer<Float>, lda: Int, _ w: UnsafeRawPointer, format: QuantFormat,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false,
        packed: UnsafeMutableBufferPointer<Float>, path: KernelPath = .best, team: ComputeTeam? = nil
    ) {
        precondition(multiplies(format), "QuantizedGemm multiplies q4_1 and q8_0 weights, not \(format)")
        precondition(packed.count >= packedActivationFloats(m: m, k: k), "packed activations need \(packedActivationFloats(m: m, k: k)) floats")
        guard m > 0, n > 0, let xt = packed.baseAddress else { return }
        ck_pack_activations(path.cPath, a, lda, Int32(m), Int32(k), xt)
        let panels = (n + panelRows - 1) / panelRows
        // Two parts per thread: longer runs keep the weight prefetch streaming (four and eight per
        // thread measured 2-5% slower at B=16 and B=32), and a slowed thread can still give one up.
        WeightRowSplit(
            kernel: .panels(xt: xt), w: w, q4: format == .q4_1, c: c, ldc: ldc, m: m, n: n, k: k,
            accumulate: accumulate, path: path.cPath, granule: panelRows,
            parts: team.map { max(1, min(2 * $0.size, panels)) } ?? 1
        ).run(on: team)
    }

    /// Weight rows per panel (CK_PANEL_ROWS): parts are split on panel boundaries so that no
    /// part but the last multiplies padding rows.
    static let panelRows = 12

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

/// One quantised product split into `parts` ranges of weight rows, each a whole number of
/// `granule` rows (1 for the block kernels, a 12-row panel for the panel kernels, so that no part
/// but the last multiplies padding rows). Each part writes only its own columns of C, so the parts
/// may run on different threads at once.
private struct WeightRowSplit: @unchecked Sendable {
    /// The kernel family and the activations in the form it reads them.
    enum Kernel {
        /// `ck_matmul_*`: activation rows as they are (row stride `lda`).
        case blocks(a: UnsafePointer<Float>, lda: Int)
        /// `ck_panel_*`: activations transposed by `ck_pack_activations`.
        case panels(xt: UnsafePointer<Float>)
    }

    let kernel: Kernel
    let w: UnsafeRawPointer
    let q4: Bool
    let c: UnsafeMutablePointer<Float>
    let ldc, m, n, k: Int
    let accumulate: Bool
    let path: ck_path
    let granule, parts: Int

    /// Runs every part, spread over `team` when there is one.
    func run(on team: ComputeTeam?) {
        if let team {
            team.run(parts: parts) { run(part: $0) }
        } else {
            run(part: 0)
        }
    }

    func run(part: Int) {
        let units = (n + granule - 1) / granule
        let begin = Int32(min(n, units * part / parts * granule))
        let end = Int32(min(n, units * (part + 1) / parts * granule))
        guard begin < end else { return }
        let (add, depth, rows): (Int32, Int32, Int32) = (accumulate ? 1 : 0, Int32(k), Int32(m))
        switch (kernel, q4) {
        case let (.blocks(a, lda), true): ck_matmul_q4_1(path, w, depth, begin, end, a, lda, rows, c, ldc, add)
        case let (.blocks(a, lda), false): ck_matmul_q8_0(path, w, depth, begin, end, a, lda, rows, c, ldc, add)
        case let (.panels(xt), true): ck_panel_q4_1(path, w, depth, begin, end, xt, rows, c, ldc, add)
        case let (.panels(xt), false): ck_panel_q8_0(path, w, depth, begin, end, xt, rows, c, ldc, add)
        }
    }
}
