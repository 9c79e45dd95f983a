import ArborProtocol
import Foundation
import GRDB

/// What a run directory's store says about a job that was already running.
public struct ResumedJob: Sendable {
    /// Batches planned so far (1…plannedBatches).
    public var plannedBatches = 0
    /// Batches whose files are written, counted from 1 without gaps.
    public var writtenBatches = 0
    /// The sampler state after the last planned batch.
    public var samplerState: Data?
    /// The AEPO state after the last written batch.
    public var aepoState: Data?
    /// Planned batches not written yet, in order, with their requests in slot order.
    public var openBatches: [(index: Int, requests: [RolloutRequest])] = []
    /// Stored results of the open batches' requests.
    public var results: [String: RolloutResult] = [:]
    /// Requests given up, with the reason.
    public var failures: [String: String] = [:]
    /// Dispatch attempts recorded per request.
    public var attempts: [String: Int] = [:]
    /// The latest policy a trainer published (0 and "" when none was).
    public var policyVersion: UInt64 = 0
    public var policyWeightsPath = ""
    /// Batches a trainer acknowledged.
    public var ackedBatches: Set<Int> = []

    /// Whether the store held anything (false for a new run directory).
    public var isResume: Bool { plannedBatches > 0 }
}

extension RunStore {
    /// Reads back everything needed to continue the job. Throws `CoordinatorError.io`.
    public func load() throws -> ResumedJob {
        do {
            return try database.read { db in
                var job = ResumedJob()
                let batches = try Row.fetchAll(
                    db, sql: "SELECT batch, sampler_state, written_at, aepo_state FROM batches ORDER BY batch")
                var open: [Int] = []
                for row in batches {
                    let index: Int = row["batch"]
                    job.plannedBatches = max(job.plannedBatches, index)
                    job.samplerState = row["sampler_state"]
                    let written: Double? = row["written_at"]
                    if written != nil, index == job.writtenBatches + 1 {
                        job.writtenBatches = index
                        job.aepoState = row["aepo_state"]
                    } else {
                        open.append(index)
                    }
                }
                for index in open {
                    let blobs = try Data.fetchAll(
                        db, sql: "SELECT request FROM requests WHERE batch = ? ORDER BY slot", arguments: [index])
                    let requests = try blobs.map { try RolloutRequest(serializedBytes: [UInt8]($0)) }
                    job.openBatches.append((index, requests))
                }
                let openIDs = Set(job.openBatches.flatMap { $0.requests.map(\.requestID) })
                for row in try Row.fetchAll(db, sql: "SELECT request_id, result FROM results") {
                    let id: String = row["request_id"]
                    guard openIDs.contains(id) else { continue }
                    let blob: Data = row["result"]
                    job.results[id] = try RolloutResult(serializedBytes: [UInt8](blob))
                }
                for row in try Row.fetchAll(db, sql: "SELECT request_id, reason FROM failures") {
                    job.failures[row["request_id"]] = row["reason"]
                }
                for row in try Row.fetchAll(db, sql: "SELECT request_id, COUNT(*) AS n FROM attempts GROUP BY request_id") {
                    job.attempts[row["request_id"]] = row["n"]
                }
                if let row = try Row.fetchOne(
                    db, sql: "SELECT version, weights_path FROM policies ORDER BY version DESC LIMIT 1")
                {
                    job.policyVersion = UInt64(row["version"] as Int64)
                    job.policyWeightsPath = row["weights_path"]
                }
                job.ackedBatches = Set(try Int.fetchAll(db, sql: "SELECT batch FROM trainer_acks"))
                return job
            }
        } catch {
            throw CoordinatorError(.io, "cannot read the run store \(path)", cause: "\(error)")
        }
    }

    /// Number of stored results and of distinct request ids among them (for checks and tests).
    public func resultCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM results") ?? 0 }
    }
}
