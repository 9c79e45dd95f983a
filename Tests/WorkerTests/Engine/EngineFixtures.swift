import Foundation

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
