import Foundation

/// Where tests find the package, the shared fixtures, the default model and the built binary.
public enum Fixtures {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$ARBOR_FIXTURES`, else `<package root>/../shared/fixtures`.
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["ARBOR_FIXTURES"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// The default model: `$ARBOR_MODEL`, else `<package root>/models/SmolLM2-135M-Instruct.Q4_1.gguf`;
    /// nil when absent (`make test` fetches it first).
    public static var modelPath: String? {
        let path = ProcessInfo.processInfo.environment["ARBOR_MODEL"]
            ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
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
