import ArborProtocol
import ArgumentParser
import Foundation

/// `arbor keygen`: CURVE key pairs for the coordinator and its workers.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate CURVE key pairs for an authenticated, encrypted worker socket.",
        discussion: """
            With --out DIR it writes coordinator.key (secret, mode 0600) and coordinator.pub, one \
            worker-N.key / worker-N.pub pair per worker, and authorized_keys listing the workers' \
            public keys. Copy coordinator.pub and one worker-N.key to each worker host; keep the \
            .key files private. Without --out it prints one key pair.

            Example:
              arbor keygen --out keys --workers 4
              arbor coordinator --config job.yaml --run-dir runs/a --bind tcp://0.0.0.0:5555 \\
                --curve-secret keys/coordinator.key --authorized-keys keys/authorized_keys
              arbor worker --connect tcp://coordinator-host:5555 --curve-secret keys/worker-1.key \\
                --server-key keys/coordinator.pub
            """)

    @Option(help: "Directory to write the key files into (created if missing).")
    var out: String?

    @Option(help: "With --out: number of worker key pairs to write.")
    var workers = 1

    @Flag(help: "Print JSON (the key pair, or the files written).")
    var json = false

    @Flag(help: "With --out: replace key files that already exist.")
    var force = false

    func validate() throws {
        if workers < 0 { throw ValidationError("--workers must be 0 or more") }
        if !ZMQContext.hasCurve {
            throw ValidationError("this libzmq (\(ZMQContext.libraryVersion)) was built without CURVE support")
        }
    }

    func run() throws {
        guard let out else {
            let pair = try CurveKey.generate()
            if json {
                print(String(decoding: try JSONEncoder.scriptOutput.encode(pair), as: UTF8.self))
            } else {
                print("public: \(pair.publicKey)\nsecret: \(pair.secretKey)")
            }
            return
        }
        let written = try writeKeys(into: URL(fileURLWithPath: out))
        if json {
            print(String(decoding: try JSONEncoder.scriptOutput.encode(written), as: UTF8.self))
        } else {
            print("wrote \(written.files.count) files to \(out): coordinator.key/.pub, \(workers) worker pair(s), authorized_keys")
            print("coordinator public key: \(written.coordinatorPublicKey)")
        }
    }

    /// What `--out` wrote, for `--json`.
    struct Written: Encodable {
        var directory: String
        var coordinatorPublicKey: String
        var workerPublicKeys: [String]
        var files: [String]
    }

    private func writeKeys(into directory: URL) throws -> Written {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let names = ["coordinator.key", "coordinator.pub", "authorized_keys"]
            + (0..<workers).flatMap { ["worker-\($0 + 1).key", "worker-\($0 + 1).pub"] }
        if !force {
            let existing = names.filter {
                FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path)
            }
            if !existing.isEmpty {
                throw ValidationError(
                    "\(directory.path) already holds \(existing.joined(separator: ", ")); pass --force to replace them")
            }
        }
        var files: [String] = []
        func write(_ key: String, _ name: String, secret: Bool) throws {
            let path = directory.appendingPathComponent(name).path
            try CurveKey.write(key, toPath: path, secret: secret)
            files.append(path)
        }
        let coordinator = try CurveKey.generate()
        try write(coordinator.secretKey, "coordinator.key", secret: true)
        try write(coordinator.publicKey, "coordinator.pub", secret: false)
        var listed: [String] = []
        for index in stride(from: 1, through: workers, by: 1) {
            let pair = try CurveKey.generate()
            try write(pair.secretKey, "worker-\(index).key", secret: true)
            try write(pair.publicKey, "worker-\(index).pub", secret: false)
            listed.append(pair.publicKey)
        }
        let authorized = "# Worker public keys the coordinator admits: one per line, then a name.\n"
            + listed.enumerated().map { "\($1) worker-\($0 + 1)\n" }.joined()
        let authorizedPath = directory.appendingPathComponent("authorized_keys").path
        try CurveKey.write(authorized.trimmingCharacters(in: .newlines), toPath: authorizedPath, secret: false)
        files.append(authorizedPath)
        return Written(
            directory: directory.path, coordinatorPublicKey: coordinator.publicKey, workerPublicKeys: listed,
            files: files)
    }
}

extension JSONEncoder {
    /// Snake-case keys in a stable order, for output scripts read.
    static var scriptOutput: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
