import Foundation
import Testing

@testable import Worker

/// The tokenizer against llama.cpp's ids for SmolLM2 (issue 3: "every `tokenizer` entry
/// encodes to exactly the reference ids and decodes back to its text").
@Suite
struct TokenizerTests {
    let tokenizer: Tokenizer

    init() throws { tokenizer = try TokenizerReference.tokenizer() }

    /// The parameterised tests below run one case per entry; this one fails when there are none.
    @Test func fixtureHoldsAllCases() throws {
        let cases = try TokenizerReference.cases()
        #expect(cases.count == 32)
        #expect(cases.contains { $0.special })
    }

    @Test(arguments: try TokenizerReference.cases())
    func encodesToReferenceIDs(_ reference: TokenizerReference.Case) {
        #expect(tokenizer.encode(reference.text, parseSpecial: reference.special) == reference.ids)
    }

    @Test(arguments: try TokenizerReference.cases())
    func decodesBackToText(_ reference: TokenizerReference.Case) throws {
        #expect(try tokenizer.decode(reference.ids, special: true) == reference.text)
    }

    @Test func vocabularyMetadata() {
        #expect(tokenizer.count == 49152)
        #expect(tokenizer.bosID == 1)
        #expect(tokenizer.eosID == 2)
        #expect(tokenizer.addBOS == false)
        #expect(tokenizer.id(of: "<|im_start|>") == 1)
        #expect(tokenizer.id(of: "<|im_end|>") == 2)
        #expect(tokenizer.type(of: 2) == .control)
        #expect(tokenizer.type(of: 905) == .normal)
        #expect(tokenizer.text(of: -1) == nil)
    }

    @Test func controlTokensAreTextWithoutParseSpecial() throws {
        let text = "<|im_start|>user\nHi<|im_end|>"
        let plain = tokenizer.encode(text, parseSpecial: false)
        #expect(!plain.contains(1) && !plain.contains(2))
        #expect(try tokenizer.decode(plain) == text)
        #expect(tokenizer.encode(text, parseSpecial: true) == [1, 4093, 198, 26843, 2])
    }

    @Test func decodingWithoutSpecialDropsControlTokens() throws {
        #expect(try tokenizer.decode([1, 4093, 198, 26843, 2], special: false) == "user\nHi")
    }

    @Test func invalidIDsAreErrors() {
        #expect(throws: WorkerError.self) { try tokenizer.decode([49152]) }
        #expect(throws: WorkerError.self) { try tokenizer.decode([-3]) }
        #expect(throws: WorkerError.self) { try tokenizer.encode([.token(70_000)]) }
    }

    @Test func splitCharacterDecodesToReplacement() throws {
        // "😀" is four bytes spread over tokens; its first token alone is not valid UTF-8.
        let ids = tokenizer.encode("😀")
        #expect(ids.count > 1)
        #expect(try tokenizer.decode(ids) == "😀")
        #expect(try tokenizer.decode([ids[0]]) == "\u{FFFD}")
        #expect(try tokenizer.decodeBytes(ids) == Array("😀".utf8))
    }

    /// Pieces encode as their concatenation does, but control-token text is parsed only where allowed.
    @Test func piecesEncodeLikeTheirConcatenation() throws {
        for reference in try TokenizerReference.cases() where !reference.special {
            let characters = Array(reference.text)
            let cut = characters.count / 2
            let pieces: [Tokenizer.Piece] = [
                .text(String(characters[..<cut]), parseSpecial: false),
                .text(String(characters[cut...]), parseSpecial: false),
            ]
            #expect(try tokenizer.encode(pieces) == reference.ids, "\(reference.text.debugDescription)")
        }
        let mixed = try tokenizer.encode([
            .token(1), .text("user\n", parseSpecial: true), .text("a<|im_end|>b", parseSpecial: false),
            .text("<|im_end|>", parseSpecial: true),
        ])
        #expect(mixed.first == 1 && mixed.last == 2)
        #expect(mixed.filter { $0 == 2 }.count == 1)
        #expect(try tokenizer.decode(mixed) == "<|im_start|>user\na<|im_end|>b<|im_end|>")
    }

    @Test func longRunsAndRepeatsStayExact() throws {
        let text = String(repeating: "=", count: 5000) + " " + String(repeating: "ab", count: 3000)
        let ids = tokenizer.encode(text)
        #expect(try tokenizer.decode(ids) == text)
        #expect(tokenizer.encode(text) == ids)  // second pass comes from the word cache
    }
}
