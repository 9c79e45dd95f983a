#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Rotary position embedding in the *normal* (adjacent-pair) form: within each head, the pair
/// (x[2i], x[2i+1]) is rotated by angle pos · base^(−2i/d).
///
/// This is ggml's `GGML_ROPE_TYPE_NORM`, which llama.cpp applies to the `llama` architecture.
/// Hugging Face checkpoints rotate halves (x[i], x[i+d/2]) instead; llama.cpp's converter
/// (convert_hf_to_gguf.py, `LlamaModel.permute`) permutes the rows of `attn_q`/`attn_k` so that
/// the adjacent-pair form on GGUF weights equals the half form on the original ones.
public struct RoPETable: Sendable {
    /// Rotated dimensions per head (`llama.rope.dimension_count`), even.
    public let dimensions: Int
    /// Positions the table covers.
    public let maxPositions: Int
    /// cos and sin of pos · θ_i, laid out [position][i] for i < dimensions/2.
    private let cosines: [Float]
    private let sines: [Float]

    /// Precomputes the angles for `maxPositions` positions; angles are computed in Double.
    public init(dimensions: Int, base: Double, maxPositions: Int) {
        self.dimensions = dimensions
        self.maxPositions = maxPositions
        let half = dimensions / 2
        var cosines = [Float](repeating: 0, count: maxPositions * half)
        var sines = cosines
        for pos in 0..<maxPositions {
            for i in 0..<half {
                let theta = Double(pos) * pow(base, -2 * Double(i) / Double(dimensions))
                cosines[pos * half + i] = Float(cos(theta))
                sines[pos * half + i] = Float(sin(theta))
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates, in place, `heads` heads of `headDim` floats each (contiguous) at position `position`
    /// (< maxPositions). Only the first `dimensions` of each head rotate.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int) {
        let half = dimensions / 2
        cosines.withUnsafeBufferPointer { cosines in
            sines.withUnsafeBufferPointer { sines in
                let c = cosines.baseAddress! + position * half
                let s = sines.baseAddress! + position * half
                for h in 0..<heads {
                    let v = x + h * headDim
                    for i in 0..<half {
                        let x0 = v[2 * i]
                        let x1 = v[2 * i + 1]
                        v[2 * i] = x0 * c[i] - x1 * s[i]
                        v[2 * i + 1] = x0 * s[i] + x1 * c[i]
                    }
                }
            }
        }
    }

    /// Reference for `apply`: the angle computed on the spot, in Double.
    public static func naive(
        _ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, dimensions: Int, base: Double
    ) {
        for h in 0..<heads {
            for i in 0..<(dimensions / 2) {
                let theta = Double(position) * pow(base, -2 * Double(i) / Double(dimensions))
                let x0 = Double(x[h * headDim + 2 * i])
                let x1 = Double(x[h * headDim + 2 * i + 1])
                x[h * headDim + 2 * i] = Float(x0 * cos(theta) - x1 * sin(theta))
                x[h * headDim + 2 * i + 1] = Float(x0 * sin(theta) + x1 * cos(theta))
            }
        }
    }
}
