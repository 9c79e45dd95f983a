import Foundation
import Yams

/// The `trainer:` section of job.yaml: the trainer process `arbor run` starts, and how the
/// coordinator serves training batches to a trainer on its control socket.
public struct TrainerSettings: Codable, Sendable, Equatable {
    /// Whether the job trains: the coordinator then opens a new batch only while fewer than
    /// `batch.max_batches_in_flight` batches are open or complete-but-unpulled (backpressure), and
    /// ends only after the trainer has acknowledged every batch. A trainer that pulls during a
    /// job without it turns both on from its first pull. A `command` implies it.
    public var required = false
    /// A pulled batch not acknowledged within this many seconds is offered to the next pull again
    /// (the trainer is presumed dead).
    public var leaseTimeoutS: Double = 600
    /// The trainer `arbor run` starts beside the workers, as an argv list; a single string in
    /// job.yaml becomes `/bin/sh -c STRING`. It runs in the job file's directory with
    /// `ARBOR_CONTROL`, `ARBOR_RUN_DIR`, `ARBOR_MODEL` and `ARBOR_TEMPERATURE` in its environment;
    /// `nil` starts no trainer.
    public var command: [String]?
    /// Extra environment variables of the trainer process (on top of `arbor run`'s own).
    public var env: [String: String] = [:]

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case required
        case leaseTimeoutS = "lease_timeout_s"
        case command, env
    }

    /// The argv of a shell command line (`/bin/sh -c LINE`), as a string `command` is read.
    public static func shellCommand(_ line: String) -> [String] { ["/bin/sh", "-c", line] }

    /// Encodes `env` with its keys sorted, so the job as run is the same text every time.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(required, forKey: .required)
        try container.encode(leaseTimeoutS, forKey: .leaseTimeoutS)
        try container.encodeIfPresent(command, forKey: .command)
        if !env.isEmpty {
            var nested = container.nestedContainer(keyedBy: NameKey.self, forKey: .env)
            for (name, value) in env.sorted(by: { $0.key < $1.key }) {
                try nested.encode(value, forKey: NameKey(name))
            }
        }
    }
}

extension TrainerSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        command = try Self.readCommand(map)
        let requiredGiven = map.node("required") != nil
        required = try map.bool("required", default: command != nil)
        if command != nil, requiredGiven, !required {
            throw map.error(
                .inconsistent, "required",
                "a job that starts its trainer (trainer.command) requires it; remove 'required: false'")
        }
        leaseTimeoutS = try map.double("lease_timeout_s", default: leaseTimeoutS, Bounds.atLeast(1))
        if let envMap = try map.map("env") {
            for name in envMap.presentKeys {
                guard !name.isEmpty, !name.contains("=") else {
                    throw envMap.error(.invalidValue, name, "is not a valid environment variable name")
                }
                guard let value = try envMap.optionalString(name) else {
                    throw envMap.error(.invalidValue, name, "must be a string (quote it; null is not a value)")
                }
                env[name] = value
            }
        }
        try map.rejectUnknownKeys()
    }

    /// `command:` as a list of strings (argv) or one string (run through `/bin/sh -c`).
    private static func readCommand(_ map: JobYAMLMap) throws -> [String]? {
        guard let node = map.node("command") else { return nil }
        if let scalar = node.scalar {
            let line = scalar.string.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { throw map.error(.invalidValue, "command", "must not be empty") }
            return shellCommand(line)
        }
        guard node.sequence != nil else {
            throw map.error(
                .invalidValue, "command",
                "must be a list of strings (argv, e.g. [python3, -m, arbor_client.trainer]) or one shell command line")
        }
        let argv = try map.stringList("command")
        guard !argv.isEmpty else { throw map.error(.invalidValue, "command", "must name a program") }
        return argv
    }
}
