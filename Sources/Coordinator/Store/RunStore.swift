import ArborProtocol
import Foundation
import GRDB

/// The job's durable state in `run_dir/state.sqlite` (SQLite in WAL mode, through GRDB): the job
/// as run, every planned batch with its requests and the sampler state after it, dispatch
/// attempts, results, requests given up, written batches with the AEPO state after them, the
/// policies a trainer published and the batches it acknowledged.
///
/// A result is committed here before the coordinator acknowledges it, so a worker never drops a
/// result the coordinator could lose. Restarting on the same run directory reads it all back
/// (`load()`) and continues the job. Thread-safe (GRDB serialises writes); the coordinator calls
/// it from its store and batch-writer threads, never from the transport thread.
public final class RunStore: Sendable {
    let database: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store at `path`. Throws `CoordinatorError.io`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "arbor.run-store"
        // WAL + NORMAL: a commit survives a crash of the process (kill -9) without an fsync per
        // transaction; only a power loss can take back the last few commits.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw CoordinatorError(.io, "cannot open the run store \(path)", cause: "\(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE job (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                    CREATE TABLE batches (
                        batch INTEGER PRIMARY KEY,
                        sampler_state BLOB NOT NULL,
                        written_at REAL,
                        aepo_state BLOB);
                    CREATE TABLE requests (
                        request_id TEXT PRIMARY KEY,
                        batch INTEGER NOT NULL REFERENCES batches(batch),
                        slot INTEGER NOT NULL,
                        task_id TEXT NOT NULL,
                        task_type TEXT NOT NULL,
                        request BLOB NOT NULL);
                    CREATE TABLE attempts (
                        request_id TEXT NOT NULL,
                        attempt INTEGER NOT NULL,
                        worker_id TEXT NOT NULL,
                        dispatched_at REAL NOT NULL);
                    CREATE TABLE results (
                        request_id TEXT PRIMARY KEY,
                        worker_id TEXT NOT NULL,
                        result BLOB NOT NULL,
                        received_at REAL NOT NULL);
                    CREATE TABLE failures (request_id TEXT PRIMARY KEY, reason TEXT NOT NULL);
                    """)
        }
        migrator.registerMigration("v2: trainer stream") { db in
            try db.execute(
                sql: """
                    CREATE TABLE policies (
                        version INTEGER PRIMARY KEY,
                        weights_path TEXT NOT NULL,
                        published_at REAL NOT NULL);
                    CREATE TABLE trainer_acks (batch INTEGER PRIMARY KEY, acked_at REAL NOT NULL);
                    """)
        }
        return migrator
    }

    // MARK: Writes

    /// One change to record; `commit` writes a group of them in one transaction.
    public enum Change: Sendable, Equatable {
        case batchPlanned(index: Int, requests: [RolloutRequest], samplerState: Data)
        case dispatched(requestID: String, attempt: UInt32, workerID: String)
        case result(RolloutResult)
        case gaveUp(requestID: String, reason: String)
        case policyPublished(version: UInt64, weightsPath: String)
        case batchAcked(index: Int)
    }

    /// Records the job as run; refuses a run directory that holds a different job.
    public func bindJob(yaml: String) throws {
        try write { db in
            if let stored = try Data.fetchOne(db, sql: "SELECT value FROM job WHERE key = 'job_yaml'") {
                let storedText = String(decoding: stored, as: UTF8.self)
                if storedText != yaml {
                    throw CoordinatorError(
                        .io,
                        "the run directory holds a different job (\(self.path)); resume it with the job it started with "
                            + "(run_dir/job.yaml) or start a new --run-dir")
                }
            } else {
                try db.execute(sql: "INSERT INTO job (key, value) VALUES ('job_yaml', ?)", arguments: [Data(yaml.utf8)])
            }
        }
    }

    /// Writes `changes` in one transaction (group commit).
    public func commit(_ changes: [Change]) throws {
        try write { db in
            for change in changes {
                switch change {
                case .batchPlanned(let index, let requests, let state):
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO batches (batch, sampler_state) VALUES (?, ?)", arguments: [index, state])
                    for (slot, request) in requests.enumerated() {
                        try db.execute(
                            sql: """
                                INSERT OR IGNORE INTO requests (request_id, batch, slot, task_id, task_type, request)
                                VALUES (?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [
                                request.requestID, index, slot, request.task.taskID, request.task.taskType,
                                Data(try request.serializedBytes() as [UInt8]),
                            ])
                    }
                case .dispatched(let id, let attempt, let worker):
                    try db.execute(
                        sql: "INSERT INTO attempts (request_id, attempt, worker_id, dispatched_at) VALUES (?, ?, ?, ?)",
                        arguments: [id, Int(attempt), worker, Date().timeIntervalSince1970])
                case .result(let result):
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO results (request_id, worker_id, result, received_at) VALUES (?, ?, ?, ?)",
                        arguments: [
                            result.requestID, result.workerID, Data(try result.serializedBytes() as [UInt8]),
                            Date().timeIntervalSince1970,
                        ])
                case .gaveUp(let id, let reason):
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO failures (request_id, reason) VALUES (?, ?)", arguments: [id, reason])
                case .policyPublished(let version, let path):
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO policies (version, weights_path, published_at) VALUES (?, ?, ?)",
                        arguments: [Int64(clamping: version), path, Date().timeIntervalSince1970])
                case .batchAcked(let index):
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO trainer_acks (batch, acked_at) VALUES (?, ?)",
                        arguments: [index, Date().timeIntervalSince1970])
                }
            }
        }
    }

    /// Marks a batch's files as written, with the AEPO state after it.
    public func markWritten(batch index: Int, aepoState: Data) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE batches SET written_at = ?, aepo_state = ? WHERE batch = ?",
                arguments: [Date().timeIntervalSince1970, aepoState, index])
        }
    }

    private func write(_ body: @escaping (Database) throws -> Void) throws {
        do {
            try database.write(body)
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw CoordinatorError(.io, "cannot write the run store \(path)", cause: "\(error)")
        }
    }
}
