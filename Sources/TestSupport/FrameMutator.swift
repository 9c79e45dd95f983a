/// A seeded generator of hostile frames for protocol fuzzing: bit flips, truncations,
/// insertions, overwrites with boundary bytes, duplicated regions, splices of two valid frames
/// and plain noise, all derived from a list of valid frames.
///
/// Deterministic for a seed, so a failing input can be replayed from the seed and its index.
/// Not thread-safe (it carries its generator state).
public struct FrameMutator {
    /// The mutation applied to produce one input, for failure reports.
    public enum Mutation: String, CaseIterable, Sendable {
        case bitFlips, truncation, insertion, boundaryBytes, duplication, splice, noise, varintBomb
    }

    private let seeds: [[UInt8]]
    private var state: UInt64

    /// `seeds` are valid frames (at least one); `seed` fixes the sequence.
    public init(seeds: [[UInt8]], seed: UInt64) {
        self.seeds = seeds.isEmpty ? [[]] : seeds
        self.state = seed
    }

    /// SplitMix64: small, fast, good enough to drive mutations.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (bound ≥ 1).
    private mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(max(bound, 1)))
    }

    private mutating func randomByte() -> UInt8 {
        UInt8(truncatingIfNeeded: next())
    }

    /// The next hostile input and how it was made.
    public mutating func nextInput() -> (frame: [UInt8], mutation: Mutation) {
        var frame = seeds[below(seeds.count)]
        let mutation = Mutation.allCases[below(Mutation.allCases.count)]
        switch mutation {
        case .bitFlips:
            guard !frame.isEmpty else { break }
            for _ in 0...below(8) {
                frame[below(frame.count)] ^= UInt8(1) << UInt8(below(8))
            }
        case .truncation:
            frame = Array(frame.prefix(below(frame.count + 1)))
        case .insertion:
            let bytes = (0...below(16)).map { _ in randomByte() }
            frame.insert(contentsOf: bytes, at: below(frame.count + 1))
        case .boundaryBytes:
            guard !frame.isEmpty else { break }
            let boundary: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x12, 0x1A]
            for _ in 0...below(4) {
                frame[below(frame.count)] = boundary[below(boundary.count)]
            }
        case .duplication:
            guard !frame.isEmpty else { break }
            let start = below(frame.count)
            let end = start + below(frame.count - start) + 1
            frame.insert(contentsOf: frame[start..<end], at: below(frame.count + 1))
        case .splice:
            let other = seeds[below(seeds.count)]
            frame = Array(frame.prefix(below(frame.count + 1))) + Array(other.suffix(below(other.count + 1)))
        case .noise:
            frame = (0..<below(64)).map { _ in randomByte() }
        case .varintBomb:
            // A field tag followed by an over-long varint or a length far past the end.
            let bomb: [UInt8] = below(2) == 0
                ? [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
                : [0x08] + Array(repeating: 0xFF, count: 11)
            frame.insert(contentsOf: bomb, at: below(frame.count + 1))
        }
        return (frame, mutation)
    }
}
