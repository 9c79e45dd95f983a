@testable import Kernels

/// Deterministic pseudo-random test data from a seeded generator.
func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var generator = SeededRandom(seed: seed)
    return (0..<count).map { _ in (Float(generator.nextUnitInterval()) * 2 - 1) * scale }
}

/// Largest absolute elementwise difference.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
