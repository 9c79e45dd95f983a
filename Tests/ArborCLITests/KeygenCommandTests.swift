import Foundation
import Testing
import TestSupport

/// `arbor keygen`: the key files, their modes, the authorized list and the printed forms.
struct KeygenCommandTests {
    func keygen(_ arguments: [String]) throws -> (status: Int32?, text: String) {
        let process = try ChildProcess(Fixtures.arborBinary, ["keygen"] + arguments)
        let status = process.waitForExit(timeout: 30)
        return (status, process.text)
    }

    @Test func outWritesCoordinatorAndWorkerPairsWithPrivateSecrets() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try keygen(["--out", directory.path, "--workers", "3"])
        #expect(result.status == 0, "\(result.text)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == [
            "authorized_keys", "coordinator.key", "coordinator.pub", "worker-1.key", "worker-1.pub",
            "worker-2.key", "worker-2.pub", "worker-3.key", "worker-3.pub",
        ])
        for name in names {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            let mode = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
            #expect(mode == (name.hasSuffix(".key") ? 0o600 : 0o644), "\(name) has mode \(String(mode, radix: 8))")
        }
        func read(_ name: String) throws -> String {
            try String(contentsOfFile: directory.appendingPathComponent(name).path, encoding: .utf8)
        }
        let workerKeys = try (1...3).map { try read("worker-\($0).pub").trimmingCharacters(in: .newlines) }
        #expect(workerKeys.allSatisfy { $0.utf8.count == 40 })
        let listed = try read("authorized_keys").split(separator: "\n").filter { !$0.hasPrefix("# ") }
        #expect(listed.map { String($0.prefix(40)) } == workerKeys)
        #expect(listed.first?.hasSuffix(" worker-1") == true)
        #expect(try read("coordinator.key").trimmingCharacters(in: .newlines).utf8.count == 40)
    }

    @Test func existingKeysAreNotReplacedWithoutForce() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try keygen(["--out", directory.path]).status == 0)
        let before = try String(contentsOfFile: directory.appendingPathComponent("coordinator.key").path, encoding: .utf8)
        let again = try keygen(["--out", directory.path])
        #expect(again.status != 0)
        #expect(again.text.contains("--force"), "\(again.text)")
        #expect(try keygen(["--out", directory.path, "--force"]).status == 0)
        let after = try String(contentsOfFile: directory.appendingPathComponent("coordinator.key").path, encoding: .utf8)
        #expect(before != after)
    }

    @Test func withoutOutPrintsOnePairAsJSON() throws {
        let result = try keygen(["--json"])
        #expect(result.status == 0)
        let line = try #require(result.text.split(separator: "\n").first { $0.hasPrefix("{") })
        let pair = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] ?? [:]
        #expect(pair["public_key"]?.utf8.count == 40)
        #expect(pair["secret_key"]?.utf8.count == 40)
        #expect(pair["public_key"] != pair["secret_key"])
    }
}
