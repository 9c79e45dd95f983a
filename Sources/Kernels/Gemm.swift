import COpenBLAS

/// Dense single-precision matrix products, row-major, over OpenBLAS's `cblas_sgemm`, each with a
/// naive reference of the same signature that tests compare against.
///
/// Leading dimensions (`lda`, `ldb`, `ldc`) are row strides in elements, so sub-matrices of a
/// larger buffer (one head's columns of a KV block) can be used without copying.
public enum Gemm {
    /// C (m×n) = A (m×k) · Bᵀ, with B stored as n rows of k (the layout of weight matrices:
    /// one output feature per row). Adds to C instead of overwriting it when `accumulate`.
    /// `alpha` scales the product (C = alpha · A·Bᵀ [+ C]).
    public static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
        accumulate: Bool = false
    ) {
        guard m > 0, n > 0 else { return }
        if m == 1 {
            // One row: y = alpha·B·a (+ y) is a matrix-vector product; OpenBLAS 0.3.21's sgemm
            // would still pack B for it.
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, 1, accumulate ? 1 : 0, c, 1)
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
    }

    /// Reference for `multiplyTransposed`: the triple loop, accumulating in Double.
    public static func naiveMultiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1,
        accumulate: Bool = false
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[j * ldb + p]) }
                c[i * ldc + j] = alpha * Float(sum) + (accumulate ? c[i * ldc + j] : 0)
            }
        }
    }

    /// C (m×n) = A (m×k) · B (k×n), B stored as k rows of n. Adds to C when `accumulate`.
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
            1, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
    }

    /// Reference for `multiply`: the triple loop, accumulating in Double.
    public static func naiveMultiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool = false
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                c[i * ldc + j] = Float(sum) + (accumulate ? c[i * ldc + j] : 0)
            }
        }
    }

    /// y (n) = W (n×k) · x (k): one row of `multiplyTransposed`, via `cblas_sgemv`.
    public static func matrixVector(
        _ w: UnsafePointer<Float>, ldw: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        n: Int, k: Int
    ) {
        guard n > 0 else { return }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(ldw), x, 1, 0, y, 1)
    }

    /// Reference for `matrixVector`.
    public static func naiveMatrixVector(
        _ w: UnsafePointer<Float>, ldw: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        n: Int, k: Int
    ) {
        naiveMultiplyTransposed(x, lda: k, w, ldb: ldw, into: y, ldc: n, m: 1, n: n, k: k)
    }
}
