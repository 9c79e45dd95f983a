import ArborProtocol

/// Which policy versions are evaluated and where each eval stands: at most one round runs (the
/// current version's); a round whose version is replaced before it completes is superseded;
/// a complete round waits for its report to be written. Pure value; owned by `CoordinatorCore`,
/// which queues and dispatches the requests (`CoordinatorCore+Eval.swift`).
public struct EvalSchedule: Sendable {
    /// The tasks and the requests that evaluate a version.
    public let suite: EvalSuite
    /// The running round, if any.
    public private(set) var round: EvalRound?
    /// Complete rounds whose report is not written yet, by version.
    public private(set) var awaitingWrite: Set<UInt64> = []
    /// Versions whose report is written (or could not be, which is logged): never evaluated again.
    public private(set) var written: Set<UInt64> = []
    /// Versions replaced by a newer one before their eval completed.
    public private(set) var superseded: [UInt64] = []
    /// Eval trees sampled with another version than the round's, rolled out again.
    public private(set) var redone = 0

    /// A schedule that has evaluated nothing yet.
    public init(suite: EvalSuite) {
        self.suite = suite
    }

    /// Whether `version` still needs a round (none ran, runs or waits to be written).
    public func needsRound(for version: UInt64) -> Bool {
        round?.version != version && !awaitingWrite.contains(version) && !written.contains(version)
    }

    /// Whether anything is left for the eval of `version` (the current one) before the job may end.
    public func isPending(version: UInt64) -> Bool {
        round != nil || !awaitingWrite.isEmpty || !written.contains(version)
    }

    /// Opens the round of `version`; returns its requests. The caller supersedes a running round
    /// of an older version first.
    mutating func open(version: UInt64, now: Double) -> [RolloutRequest] {
        let requests = suite.requests(version: version)
        round = EvalRound(version: version, requests: requests, now: now)
        return requests
    }

    /// Drops the running round (a newer version is current); returns it.
    mutating func supersede() -> EvalRound? {
        guard let old = round else { return nil }
        round = nil
        superseded.append(old.version)
        return old
    }

    /// What became of a result or a failure.
    enum Outcome: Equatable {
        /// Kept; the round still waits for others.
        case kept
        /// Kept, and it was the last: the round is complete (and no longer running).
        case complete(EvalRound)
        /// The tree was sampled with version `stamped`, not the round's: roll it out again.
        case wrongVersion(stamped: UInt64)
        /// No running round has this request (superseded, or already answered).
        case unknown
    }

    /// A result of an eval request of `version`.
    mutating func record(_ result: RolloutResult, version: UInt64, now: Double) -> Outcome {
        guard var current = round, current.version == version, current.taskTypes[result.requestID] != nil,
            current.results[result.requestID] == nil
        else { return .unknown }
        let stamped = result.tree.policyVersions.last ?? version
        if stamped != version {
            redone += 1
            return .wrongVersion(stamped: stamped)
        }
        current.results[result.requestID] = result
        return close(current, now: now)
    }

    /// An eval request of `version` given up after its last attempt.
    mutating func fail(_ requestID: String, reason: String, version: UInt64, now: Double) -> Outcome {
        guard var current = round, current.version == version, current.taskTypes[requestID] != nil else {
            return .unknown
        }
        current.failures[requestID] = reason
        return close(current, now: now)
    }

    private mutating func close(_ current: EvalRound, now: Double) -> Outcome {
        var current = current
        guard current.isComplete else {
            round = current
            return .kept
        }
        current.closedAt = now
        round = nil
        awaitingWrite.insert(current.version)
        return .complete(current)
    }

    /// The report of `version` is written (or failed to be): the version is done.
    mutating func markWritten(_ version: UInt64) {
        awaitingWrite.remove(version)
        written.insert(version)
    }
}
