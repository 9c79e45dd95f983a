import ArborProtocol
import Foundation
import Testing
import TestSupport

/// Reading and writing CURVE key files and authorized-key lists.
struct CurveKeyFilesTests {
    @Test func authorizedKeysSkipCommentsAndNamesAndDuplicates() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try CurveKey.generate().publicKey
        let second = try CurveKey.generate().publicKey
        let file = directory.appendingPathComponent("authorized_keys").path
        try "# workers\n\n\(first) worker-1\n  \(second)\n\(first) again\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try CurveKey.authorizedKeys(atPath: file) == [first, second])
    }

    @Test func aDirectoryListsEveryPublicKeyFile() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try (0..<3).map { _ in try CurveKey.generate() }
        for (index, pair) in keys.enumerated() {
            try CurveKey.write(pair.publicKey, toPath: directory.appendingPathComponent("w\(index).pub").path, secret: false)
            try CurveKey.write(pair.secretKey, toPath: directory.appendingPathComponent("w\(index).key").path, secret: true)
        }
        let listed = try CurveKey.authorizedKeys(atPath: directory.path)
        #expect(Set(listed) == Set(keys.map(\.publicKey)))
    }

    @Test func aMalformedLineIsNamedByFileAndLine() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("authorized_keys").path
        try "\(try CurveKey.generate().publicKey)\nnot-a-key worker-2\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            _ = try CurveKey.authorizedKeys(atPath: file)
        } throws: { error in
            guard let error = error as? ProtocolError else { return false }
            return error.code == .badKey && error.message.contains("authorized_keys:2")
        }
    }

    @Test func anEmptyListIsAnError() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: ProtocolError.self) { _ = try CurveKey.authorizedKeys(atPath: directory.path) }
        #expect(throws: ProtocolError.self) {
            _ = try CurveKey.authorizedKeys(atPath: directory.appendingPathComponent("missing").path)
        }
    }

    @Test func secretKeysAreWrittenPrivateAndReadBack() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try CurveKey.generate()
        let path = directory.appendingPathComponent("coordinator.key").path
        try CurveKey.write(pair.secretKey, toPath: path, secret: true)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0) & 0o777
        #expect(mode == 0o600)
        let secret = try CurveKey.read(path: path, what: "secret key")
        #expect(secret == pair.secretKey)
        #expect(try CurveKey.publicKey(forSecret: secret) == pair.publicKey)
    }
}
