import Foundation

/// Where tests find the package, the fixtures, the default model and the built binary.
public enum Fixtures {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$ARBOR_FIXTURES`, else `<package root>/Tests/Fixtures` (its README says where each file
    /// came from). The repository is self-contained: nothing outside it is read.
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["ARBOR_FIXTURES"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.appendingPathComponent("Tests/Fixtures")
    }

    /// The contents of the fixture at `relativePath` (under `directory`).
    ///
    /// - Throws: `MissingPrerequisite` naming the file when it cannot be read.
    public static func data(_ relativePath: String) throws -> Data {
        let url = directory.appendingPathComponent(relativePath)
        do {
            return try Data(contentsOf: url)
        } catch {
            throw MissingPrerequisite("the fixture \(url.path) (see Tests/Fixtures/README.md): \(error.localizedDescription)")
        }
    }

    /// The default model: `$ARBOR_MODEL`, else `<package root>/models/SmolLM2-135M-Instruct.Q4_1.gguf`;
    /// nil when absent (`make test` fetches it first). Tests that need it call `requireModelPath()`.
    public static var modelPath: String? {
        let path = ProcessInfo.processInfo.environment["ARBOR_MODEL"]
            ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The default model's path.
    ///
    /// - Throws: `MissingPrerequisite` when it is absent: a test that needs the model fails, it
    ///   never passes by not running.
    public static func requireModelPath() throws -> String {
        guard let path = modelPath else {
            throw MissingPrerequisite("the default model models/SmolLM2-135M-Instruct.Q4_1.gguf (run scripts/fetch-model, or set ARBOR_MODEL)")
        }
        return path
    }

    /// The `arbor` binary built alongside the tests (`$ARBOR_BIN` overrides): the test bundle
    /// lives in the same build folder as the executable.
    public static var arborBinary: String {
        if let override = ProcessInfo.processInfo.environment["ARBOR_BIN"] { return override }
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            + ["release", "debug"].map { packageRoot.appendingPathComponent(".build/\($0)") }
        for folder in candidates {
            let path = folder.appendingPathComponent("arbor").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot.appendingPathComponent(".build/debug/arbor").path
    }

    /// A fresh, empty temporary directory, removed by the caller (`defer`).
    public static func temporaryDirectory(_ prefix: String = "arbor-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Something a test needs from the machine or the repository that is not there: the model, a
/// fixture, bwrap, a Python package. Thrown (not skipped), so the test fails and says what to
/// install.
public struct MissingPrerequisite: Error, CustomStringConvertible {
    public let description: String

    public init(_ what: String) {
        description = "missing prerequisite: \(what)"
    }
}
