import Foundation
import Testing

/// Locates the default model and the shared fixtures for engine tests.
///
/// The model comes from env `ARBOR_MODEL` or `<package root>/models/SmolLM2-135M-Instruct.Q4_1.gguf`;
/// fixtures from env `ARBOR_FIXTURES` or `<package root>/../shared/fixtures`.
enum EngineFixtures {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var modelPath: String? {
        let path = ProcessInfo.processInfo.environment["ARBOR_MODEL"]
            ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static var fixturesDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["ARBOR_FIXTURES"] { return URL(fileURLWithPath: dir) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

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
