import Foundation
import Testing

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

    /// Every reference case, or none when the fixture file is absent.
    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: EngineFixtures.referencePath),
            let file = try? JSONDecoder().decode(File.self, from: data)
        else { return [] }
        return file.tokenizer
    }()

    /// The default model's tokenizer, or nil when the model file is absent.
    static let tokenizer: Tokenizer? = {
        guard let path = EngineFixtures.modelPath else { return nil }
        return try? Tokenizer(gguf: GGUFFile(path: path))
    }()

    /// Whether the model and the fixture are both present.
    static var available: Bool { tokenizer != nil && !cases.isEmpty }
}
