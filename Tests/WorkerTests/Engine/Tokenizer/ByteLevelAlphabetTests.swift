import Testing

@testable import Worker

/// GPT-2's byte alphabet: known characters from its published table and a lossless round trip.
struct ByteLevelAlphabetTests {
    @Test func knownCharacters() {
        #expect(ByteLevelAlphabet.text(forByte: UInt8(ascii: " ")) == "Ġ")
        #expect(ByteLevelAlphabet.text(forByte: UInt8(ascii: "\n")) == "Ċ")
        #expect(ByteLevelAlphabet.text(forByte: UInt8(ascii: "\t")) == "ĉ")
        #expect(ByteLevelAlphabet.text(forByte: 0) == "Ā")
        #expect(ByteLevelAlphabet.text(forByte: UInt8(ascii: "a")) == "a")
        #expect(ByteLevelAlphabet.text(forByte: 0xAD) == "Ń")  // soft hyphen is remapped
        #expect(ByteLevelAlphabet.text(forByte: 0xFF) == "ÿ")
    }

    @Test func roundTripsEveryByte() {
        let bytes = (0...255).map { UInt8($0) }
        let text = ByteLevelAlphabet.encode(bytes)
        #expect(Set(text.unicodeScalars).count == 256)
        var decoded: [UInt8] = []
        ByteLevelAlphabet.decode(text, into: &decoded)
        #expect(decoded == bytes)
    }

    @Test func foreignCharactersPassThrough() {
        var decoded: [UInt8] = []
        ByteLevelAlphabet.decode("Ġ€", into: &decoded)
        #expect(decoded == [0x20] + Array("€".utf8))
    }
}
