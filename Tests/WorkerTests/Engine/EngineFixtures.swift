import Foundation
import Testing
import TestSupport

@testable import Worker

/// The engine tests' fixtures: the model and fixture folder come from `TestSupport.Fixtures`
/// (env `ARBOR_MODEL` / `ARBOR_FIXTURES` override them). A missing one fails the test that
/// needs it, naming the file.
enum EngineFixtures {
    /// The default model's path, or a thrown `MissingPrerequisite`.
    static func requireModelPath() throws -> String { try Fixtures.requireModelPath() }

    /// smollm2-reference.json's bytes, or a thrown `MissingPrerequisite`.
    static func referenceData() throws -> Data { try Fixtures.data("smollm2/smollm2-reference.json") }
}

/// One model for the whole test process: loading is slow, and several copies would blur the
/// resident-memory check.
enum SharedModel {
    private static let loaded = Result { try LlamaModel(path: EngineFixtures.requireModelPath()) }

    /// The loaded default model; throws (failing the test) when it is absent or unreadable.
    static func require() throws -> LlamaModel { try loaded.get() }
}

/// One `logits` entry of smollm2-reference.json (an exact float32 reference forward pass).
struct ReferenceLogits: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let ids: [Int]
    let f32_argmax: [Int]
    let f32_top20_last: [[Double]]
    let f32_logsumexp_last: Double

    var testDescription: String { name }

    /// Every reference forward pass in the fixture.
    static func load() throws -> [ReferenceLogits] {
        struct File: Decodable { let logits: [ReferenceLogits] }
        return try JSONDecoder().decode(File.self, from: EngineFixtures.referenceData()).logits
    }

    /// The entry called `name`; throws when the fixture has none.
    static func named(_ name: String) throws -> ReferenceLogits {
        guard let entry = try load().first(where: { $0.name == name }) else {
            throw MissingPrerequisite("a logits entry named \(name) in smollm2-reference.json")
        }
        return entry
    }
}
