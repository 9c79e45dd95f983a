import ArborProtocol
import Foundation

/// Turns sampled tasks into rollout requests: ids, the task as the worker sees it, the tree
/// shape and sampling settings of the job.
///
/// Request ids are `b<batch>-<slot>` (e.g. `b000003-07`): stable across coordinator restarts for
/// the same sampler state, and they say where each result belongs.
public struct RequestPlanner: Sendable {
    public let config: JobConfig
    public let catalog: TaskCatalog
    private var sampler: TaskBalancedSampler
    /// Batches planned so far; the last one planned has this index.
    public private(set) var batchesPlanned = 0

    public init(config: JobConfig, catalog: TaskCatalog) throws {
        self.config = config
        self.catalog = catalog
        self.sampler = try TaskBalancedSampler(config: config, catalog: catalog)
    }

    /// The sampler's state as JSON, stored with every planned batch so a restart resumes it.
    public var samplerStateData: Data {
        (try? JSONEncoder().encode(sampler.state)) ?? Data()
    }

    /// Continues after `batchesPlanned` batches from a stored sampler state.
    public mutating func resume(samplerState: Data, batchesPlanned: Int) throws {
        let state: TaskBalancedSampler.State
        do {
            state = try JSONDecoder().decode(TaskBalancedSampler.State.self, from: samplerState)
        } catch {
            throw CoordinatorError(.io, "the run store's sampler state does not decode", cause: "\(error)")
        }
        sampler = try TaskBalancedSampler(config: config, catalog: catalog, state: state)
        self.batchesPlanned = batchesPlanned
    }

    /// The requests of the next batch.
    public mutating func nextBatch() -> [RolloutRequest] {
        batchesPlanned += 1
        let batch = batchesPlanned
        return sampler.nextBatch().enumerated().compactMap { slot, pick in
            guard let task = catalog.task(pick) else { return nil }
            return request(for: task, batch: batch, slot: slot)
        }
    }

    /// The request for one task at a batch position.
    public func request(for task: TaskRecord, batch: Int, slot: Int) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = Self.requestID(batch: batch, slot: slot)
        request.attempt = 1
        var message = TaskMessage()
        message.taskID = task.id
        message.taskType = task.type
        message.prompt = task.prompt
        message.answer = task.answer
        message.verifier = task.verifier.rawValue
        message.tolerance = task.tolerance
        message.tools = task.tools
        message.rawJson = task.rawJSON
        request.task = message
        // Every request gets its own seed derived from the job seed and its position, so a
        // rerun of the job replays every tree.
        var seeds = SplitMix64(seed: config.sampling.seed ^ (UInt64(batch) << 32) ^ UInt64(slot))
        let spec = RolloutSpec(
            job: config, seed: seeds.next(), systemPrompt: task.systemPrompt ?? config.systemPrompt ?? "")
        request.spec = spec
        return request
    }

    public static func requestID(batch: Int, slot: Int) -> String {
        "b" + paddedBatchNumber(batch) + "-" + (slot < 10 ? "0\(slot)" : "\(slot)")
    }
}

/// A batch number zero-padded to six digits, as it appears in file names and request ids.
func paddedBatchNumber(_ value: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
}
