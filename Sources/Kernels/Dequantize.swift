/// Dequantisation of ggml blocks into f32 (see `QuantFormat` for the layouts).
public enum Dequantize {
    /// Decodes `count` elements stored in `format` at `source` into `destination` (count floats).
    ///
    /// `count` must be a multiple of `format.blockSize` and `source` must hold
    /// `format.byteCount(elements: count)` bytes; callers validate shapes before calling.
    /// Multi-byte fields are read unaligned and little-endian, as stored in GGUF files.
    public static func run(
        _ format: QuantFormat, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        switch format {
        case .f32:
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { destination[i] = half(source, 2 * i) }
        case .q8_0:
            for block in 0..<(count / 32) {
                let base = block * 34
                let d = half(source, base)
                let out = destination + block * 32
                for j in 0..<32 {
                    out[j] = d * Float(Int8(bitPattern: source.load(fromByteOffset: base + 2 + j, as: UInt8.self)))
                }
            }
        case .q4_0:
            for block in 0..<(count / 32) {
                let base = block * 18
                let d = half(source, base)
                let out = destination + block * 32
                for j in 0..<16 {
                    let byte = source.load(fromByteOffset: base + 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int(byte & 0x0F) - 8)
                    out[j + 16] = d * Float(Int(byte >> 4) - 8)
                }
            }
        case .q4_1:
            for block in 0..<(count / 32) {
                let base = block * 20
                let d = half(source, base)
                let m = half(source, base + 2)
                let out = destination + block * 32
                for j in 0..<16 {
                    let byte = source.load(fromByteOffset: base + 4 + j, as: UInt8.self)
                    out[j] = d * Float(byte & 0x0F) + m
                    out[j + 16] = d * Float(byte >> 4) + m
                }
            }
        }
    }

    /// The IEEE half float stored little-endian at `offset`, widened to Float.
    @inline(__always)
    static func half(_ source: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(halfBits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}

extension Float {
    /// Widens IEEE 754 binary16 bits (sign, 5-bit exponent, 10-bit mantissa) to Float, exactly,
    /// including subnormals, infinities and NaN. Written out because `Float16` is not available
    /// on every platform Swift supports.
    public init(halfBits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            self = sign == 0 ? magnitude : -magnitude
        } else if exponent == 0x1F {
            self = Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        } else {
            self = Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
        }
    }
}
