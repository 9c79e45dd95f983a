/// The stored weight formats the engine can dequantise, in ggml's block layouts.
///
/// Layouts (ggml/src/ggml-common.h, https://github.com/ggml-org/ggml):
/// - `f32`: plain little-endian floats; `f16`: IEEE half floats.
/// - `q8_0`: blocks of 32: `d` (f16), then 32 × int8 `q`; x = d·q.
/// - `q4_0`: blocks of 32: `d` (f16), then 16 bytes; byte j holds element j in its low nibble and
///   element j+16 in its high nibble; x = d·(q − 8).
/// - `q4_1`: blocks of 32: `d` (f16), `m` (f16), then 16 bytes as in q4_0; x = d·q + m.
public enum QuantFormat: Sendable, CaseIterable {
    case f32, f16, q8_0, q4_0, q4_1

    /// Elements per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16: return 1
        case .q8_0, .q4_0, .q4_1: return 32
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16: return 2
        case .q8_0: return 34
        case .q4_0: return 18
        case .q4_1: return 20
        }
    }

    /// Bytes needed to store `count` elements (`count` must be a multiple of `blockSize`).
    public func byteCount(elements count: Int) -> Int {
        count / blockSize * blockBytes
    }
}
