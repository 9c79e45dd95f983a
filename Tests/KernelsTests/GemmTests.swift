import Testing

@testable import Kernels

@Suite("Gemm")
struct GemmTests {
    @Test("sgemm A·Bᵀ matches the naive loop, with strides, alpha and accumulation", arguments: [(1, 7, 5), (16, 33, 64), (3, 64, 17)])
    func multiplyTransposed(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let a = randomFloats(m * (k + 3), seed: 1)
        let b = randomFloats(n * (k + 2), seed: 2)
        var fast = randomFloats(m * n, seed: 3)
        var slow = fast
        Gemm.multiplyTransposed(a, lda: k + 3, b, ldb: k + 2, into: &fast, ldc: n, m: m, n: n, k: k, alpha: 0.5, accumulate: true)
        Gemm.naiveMultiplyTransposed(a, lda: k + 3, b, ldb: k + 2, into: &slow, ldc: n, m: m, n: n, k: k, alpha: 0.5, accumulate: true)
        #expect(maxDifference(fast, slow) < 1e-4)
    }

    @Test("sgemm A·B matches the naive loop")
    func multiply() {
        let (m, n, k) = (6, 64, 32)
        let a = randomFloats(m * k, seed: 4)
        let b = randomFloats(k * 192, seed: 5)
        var fast = [Float](repeating: 0, count: m * n)
        var slow = fast
        Gemm.multiply(a, lda: k, b, ldb: 192, into: &fast, ldc: n, m: m, n: n, k: k)
        Gemm.naiveMultiply(a, lda: k, b, ldb: 192, into: &slow, ldc: n, m: m, n: n, k: k)
        #expect(maxDifference(fast, slow) < 1e-4)
    }

    @Test("sgemv matches the naive loop and a hand-computed product")
    func matrixVector() {
        let w: [Float] = [1, 2, 3, 4, 5, 6]
        let x: [Float] = [1, 0, -1]
        var y = [Float](repeating: 0, count: 2)
        Gemm.matrixVector(w, ldw: 3, x, into: &y, n: 2, k: 3)
        #expect(y == [-2, -2])
        let big = randomFloats(40 * 50, seed: 6)
        let v = randomFloats(50, seed: 7)
        var fast = [Float](repeating: 0, count: 40)
        var slow = fast
        Gemm.matrixVector(big, ldw: 50, v, into: &fast, n: 40, k: 50)
        Gemm.naiveMatrixVector(big, ldw: 50, v, into: &slow, n: 40, k: 50)
        #expect(maxDifference(fast, slow) < 1e-4)
    }

    @Test("the OpenBLAS thread count is set explicitly")
    func threads() {
        BLASThreads.set(1)
        #expect(BLASThreads.current == 1)
        BLASThreads.set(2)
        #expect(BLASThreads.current >= 1)
    }
}
