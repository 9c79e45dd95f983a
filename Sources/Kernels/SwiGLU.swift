import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The gated feed-forward activation of Llama (Shazeer 2020): h = silu(gate) ⊙ up,
/// silu(g) = g · σ(g) = g / (1 + e^−g).
public enum SwiGLU {
    /// out[i] = silu(gate[i]) · up[i] for `count` elements; `out` may alias `gate`. Runs
    /// `ck_swiglu` on `path`.
    public static func run(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int,
        path: KernelPath = .best
    ) {
        ck_swiglu(path.cPath, gate, up, out, Int32(count))
    }

    /// Reference for `run`, in Double.
    public static func naive(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count {
            let g = Double(gate[i])
            out[i] = Float(g / (1 + exp(-g)) * Double(up[i]))
        }
    }
}
