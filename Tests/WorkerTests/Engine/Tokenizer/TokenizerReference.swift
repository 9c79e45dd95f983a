import Foundation
import Testing
import TestSupport

@testable import Worker

/// The SmolLM2 tokenizer and the `tokenizer` cases of `smollm2/smollm2-reference.json`
/// (ids produced by llama.cpp via llama-cpp-python on the same GGUF), loaded once per test run.
enum TokenizerReference {
    /// One reference tokenization.
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var special: Bool
        var ids: [Int32]

        var testDescription: String { "\(text.debugDescription.prefix(40)) special=\(special)" }
    }

    private struct File: Decodable {
        var tokenizer: [Case]
    }

    private static let loadedCases = Result {
        try JSONDecoder().decode(File.self, from: EngineFixtures.referenceData()).tokenizer
    }

    private static let loadedTokenizer = Result {
        try Tokenizer(gguf: GGUFFile(path: EngineFixtures.requireModelPath()))
    }

    /// Every reference case; throws (failing the test) when the fixture cannot be read.
    static func cases() throws -> [Case] { try loadedCases.get() }

    /// The default model's tokenizer; throws (failing the test) when the model is absent.
    static func tokenizer() throws -> Tokenizer { try loadedTokenizer.get() }
}
