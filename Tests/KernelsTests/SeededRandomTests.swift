import Testing

@testable import Kernels

@Suite("SeededRandom")
struct SeededRandomTests {
    @Test("a seed fixes the stream; different seeds differ")
    func deterministic() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        var c = SeededRandom(seed: 43)
        let first = (0..<4).map { _ in a.next() }
        #expect(first == (0..<4).map { _ in b.next() })
        #expect(first != (0..<4).map { _ in c.next() })
    }

    @Test("unit-interval draws lie in [0, 1) with mean ≈ ½")
    func unitInterval() {
        var g = SeededRandom(seed: 1)
        let draws = (0..<10_000).map { _ in g.nextUnitInterval() }
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(draws.reduce(0, +) / 10_000 - 0.5) < 0.02)
    }
}
