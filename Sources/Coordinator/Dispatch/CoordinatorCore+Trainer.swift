import ArborProtocol

/// What the trainer changes in the core: the policy workers serve, and how far rollouts may run
/// ahead of it.
extension CoordinatorCore {
    /// A trainer published policy `update.version`: every worker is told to load it (finishing or
    /// aborting its in-flight requests first, as the update says), and from now on requests go
    /// only to workers that report serving it. Returns the reply for the trainer (an `Error` for
    /// a version that is not newer or names no weights) and the actions.
    public mutating func publishPolicy(_ update: Arbor_V1_PolicyUpdate, now: Double) -> (reply: Body, actions: [Action]) {
        guard update.version > policyVersion else {
            return (Wire.error(.badRequest, "policy version \(update.version) is not newer than the current \(policyVersion)"), [])
        }
        guard !update.weightsPath.isEmpty else {
            return (Wire.error(.badRequest, "policy version \(update.version) names no weights_path"), [])
        }
        policyVersion = update.version
        policyWeightsPath = update.weightsPath
        let workers = registry.workers.values.sorted { $0.id < $1.id }
        var actions: [Action] = [
            .persist(.policyPublished(version: update.version, weightsPath: update.weightsPath)),
            .log(
                .info,
                "policy version \(update.version) published (\(update.weightsPath)); \(workers.count) worker(s) "
                    + (update.abortInFlight ? "abort their requests and load it" : "load it after their current requests")),
        ]
        actions += workers.map { .send(to: $0.identity, .policyUpdate(update)) }
        var published = Arbor_V1_PolicyPublished()
        published.version = update.version
        published.workersNotified = UInt32(workers.count)
        actions += openEvalIfNeeded(now: now)
        return (.policyPublished(published), actions + dispatch(now: now))
    }

    /// The trainer now holds or has acknowledged `taken` batches (nil: no trainer is attached).
    /// Opens the batches its progress makes room for.
    public mutating func trainerProgress(taken: Int?, now: Double) -> [Action] {
        guard taken != trainerTaken else { return [] }
        trainerTaken = taken
        return openBatchesIfNeeded() + dispatch(now: now)
    }

    /// The attached trainer was told the job ended: it publishes no more versions, so the job
    /// may finish once the last version's eval is written.
    public mutating func trainerEnded(now: Double) -> [Action] {
        guard !trainerEnded else { return [] }
        trainerEnded = true
        return finishJobIfDone()
    }

    /// Complete batches the attached trainer has not pulled yet; nil without a trainer.
    public var trainerBacklog: Int? { trainerTaken.map { max(0, batchesCompleted - $0) } }

    /// Whether new batches are held back because the trainer has not pulled enough of them.
    public var isHeldForTrainer: Bool {
        guard let backlog = trainerBacklog else { return false }
        return batchesOpened < settings.batchCount && openBatches.count < settings.maxBatchesInFlight
            && openBatches.count + backlog >= settings.maxBatchesInFlight
    }
}
