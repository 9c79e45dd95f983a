import Foundation
import Testing
import TestSupport

/// The engine tests' fixtures: the model and fixture folder come from `TestSupport.Fixtures`
/// (env `ARBOR_MODEL` / `ARBOR_FIXTURES` override them).
enum EngineFixtures {
    static var modelPath: String? { Fixtures.modelPath }

    static var fixturesDirectory: URL { Fixtures.directory }

    static var referencePath: URL {
        fixturesDirectory.appendingPathComponent("smollm2/smollm2-reference.json")
    }
}

@testable import Worker

/// One model for the whole test process: loading is slow, and several copies would blur the
/// resident-memory check.
enum SharedModel {
    static let model: LlamaModel? = EngineFixtures.modelPath.flatMap { try? LlamaModel(path: $0) }
}

/// One `logits` entry of smollm2-reference.json (an exact float32 reference forward pass).
struct ReferenceLogits: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let ids: [Int]
    let f32_argmax: [Int]
    let f32_top20_last: [[Double]]
    let f32_logsumexp_last: Double

    var testDescription: String { name }

    static func load() throws -> [ReferenceLogits] {
        struct File: Decodable { let logits: [ReferenceLogits] }
        let data = try Data(contentsOf: EngineFixtures.referencePath)
        return try JSONDecoder().decode(File.self, from: data).logits
    }
}
