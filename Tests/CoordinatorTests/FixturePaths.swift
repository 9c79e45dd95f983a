import Foundation

/// Where the shared fixtures are: `$ARBOR_FIXTURES`, else `<package root>/../shared/fixtures`.
enum FixturePaths {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    static var fixtures: URL {
        if let override = ProcessInfo.processInfo.environment["ARBOR_FIXTURES"] {
            return URL(fileURLWithPath: override)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    static func advantages(_ name: String) -> URL {
        fixtures.appendingPathComponent("advantages").appendingPathComponent(name)
    }
}
