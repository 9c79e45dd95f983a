/// GPT-2's reversible byte ↔ character mapping, which byte-level BPE vocabularies are written in.
///
/// Every byte value gets one printable Unicode scalar: the bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` map
/// to the scalar of the same value; the remaining 68 bytes (controls, space, DEL, NBSP, soft
/// hyphen …) map, in increasing byte order, to U+0100, U+0101, … So a space is `Ġ` (U+0120) and
/// a newline `Ċ` (U+010A) in the vocabulary's token texts and merges.
///
/// Reference: `bytes_to_unicode` in https://github.com/openai/gpt-2/blob/9b63575ef42771a015060c964af2c3da4cf7c8ab/src/encoder.py
/// and `unicode_byte_to_utf8_map` in
/// https://github.com/ggml-org/llama.cpp/blob/0c4093cc5bdd0062b017a46017538fffa3ab8d5d/src/unicode.cpp
/// (same table).
enum ByteLevelAlphabet {
    /// The scalar standing for each byte value, indexed by the byte.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintedAsItself(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // Values 256…323 are all valid scalars, so the force-unwrap cannot fail.
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet scalar stands for, indexed by scalar value (0…323); `nil` for
    /// scalars outside the alphabet.
    static let byteForScalar: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 324)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = UInt8(byte)
        }
        return table
    }()

    /// The single-character token text that stands for `byte` (`Ġ` for a space).
    static func text(forByte byte: UInt8) -> String {
        String(Character(scalarForByte[Int(byte)]))
    }

    /// Encodes raw bytes as alphabet text: the form a pre-token takes before BPE merges.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }

    /// Decodes a token's text back to the bytes it stands for, appending to `bytes`.
    ///
    /// A scalar outside the alphabet (which a well-formed byte-level vocabulary never holds) is
    /// copied through as its own UTF-8; llama.cpp prints it with an `[UNK_BYTE_…]` marker instead,
    /// which we do not imitate because the text is then not a decoding of anything.
    static func decode(_ text: String, into bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            let value = Int(scalar.value)
            if value < byteForScalar.count, let byte = byteForScalar[value] {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: String(Character(scalar)).utf8)
            }
        }
    }

    /// Whether GPT-2 keeps `byte` as the scalar of the same value (printable Latin-1, not space).
    private static func isPrintedAsItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
