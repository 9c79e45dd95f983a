/// SplitMix64 (Steele, Lea, Flood 2014; constants of Vigna's reference `splitmix64.c`): a tiny
/// seeded generator whose whole state is one `UInt64`, so sampler state is trivially saved.
///
/// Shared by the coordinator (sampler, request seeds) and workers (tree rollouts). Used instead of
/// the system generator so a seed replays the same batches and trees on every platform and Swift
/// version; `index(below:)` and `shuffle` are spelled out here for the same reason (the
/// standard library's algorithms may change between releases).
public struct SplitMix64: RandomNumberGenerator, Sendable, Codable, Equatable {
    /// The generator's whole state.
    public var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform integer in `0..<bound` (`bound > 0`), without modulo bias (Lemire 2019:
    /// multiply-high with rejection of the short first interval).
    public mutating func index(below bound: Int) -> Int {
        precondition(bound > 0, "index(below:) needs a positive bound")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Fisher–Yates shuffle of `items` in place, from the last position down.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for position in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(position, index(below: position + 1))
        }
    }

    /// A 64-bit FNV-1a hash of `text`'s UTF-8 bytes: a stable seed component for a name
    /// (`String.hashValue` is randomised per process).
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
