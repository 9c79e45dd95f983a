import Testing

@testable import Kernels

@Suite("Dequantize")
struct DequantizeTests {
    @Test("half floats widen exactly", arguments: [
        (UInt16(0x3C00), Float(1)), (0xC000, -2), (0x0001, 0x1p-24), (0x7BFF, 65504), (0x8000, -0.0),
        (0x7C00, .infinity), (0x3555, 0.333251953125), (0x0400, 0x1p-14),
    ])
    func half(bits: UInt16, value: Float) {
        #expect(Float(halfBits: bits) == value)
    }

    @Test("q8_0: x = d · q")
    func q80() {
        var block: [UInt8] = [0x00, 0x38]  // d = 0.5
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        var out = [Float](repeating: 0, count: 32)
        Dequantize.run(.q8_0, from: block, count: 32, into: &out)
        let expected: [Float] = (0..<32).map { Float($0 - 16) * 0.5 }
        #expect(out == expected)
    }

    @Test("q4_0: low nibbles are elements 0–15, high nibbles 16–31, x = d · (q − 8)")
    func q40() {
        var block: [UInt8] = [0x00, 0x40]  // d = 2
        block += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        var out = [Float](repeating: 0, count: 32)
        Dequantize.run(.q4_0, from: block, count: 32, into: &out)
        let low: [Float] = (0..<16).map { Float($0 - 8) * 2 }
        let high: [Float] = (0..<16).map { Float(7 - $0) * 2 }
        #expect(Array(out[0..<16]) == low)
        #expect(Array(out[16..<32]) == high)
    }

    @Test("q4_1: x = d · q + m, over two blocks")
    func q41() {
        var bytes: [UInt8] = []
        for (d, m) in [((UInt8(0x00), UInt8(0x38)), (UInt8(0x00), UInt8(0xBC))), ((0x00, 0x3C), (0x00, 0x40))] {
            bytes += [d.0, d.1, m.0, m.1]  // block 0: d 0.5, m −1; block 1: d 1, m 2
            bytes += (0..<16).map { UInt8($0) | UInt8(($0 + 3) % 16) << 4 }
        }
        var out = [Float](repeating: 0, count: 64)
        Dequantize.run(.q4_1, from: bytes, count: 64, into: &out)
        #expect(out[0] == -1 && out[15] == 6.5 && out[16] == 0.5 && out[31] == 0)
        #expect(out[32] == 2 && out[47] == 17 && out[48] == 5 && out[63] == 4)
    }

    @Test("f16 and f32 rows")
    func plain() {
        var out = [Float](repeating: 0, count: 2)
        Dequantize.run(.f16, from: [UInt8]([0x00, 0x3C, 0x00, 0xC0]), count: 2, into: &out)
        #expect(out == [1, -2])
        let source: [Float] = [3.25, -7]
        source.withUnsafeBytes { Dequantize.run(.f32, from: $0.baseAddress!, count: 2, into: &out) }
        #expect(out == source)
        #expect(QuantFormat.q4_1.byteCount(elements: 576) == 360)
    }
}
