import ArborProtocol

/// One sampled task: its type and its index in that type's task set.
public struct TaskPick: Sendable, Hashable, Codable {
    /// The task type.
    public var type: String
    /// Index into the type's `TaskSet.tasks`.
    public var index: Int

    /// A pick of task `index` of `type`.
    public init(type: String, index: Int) {
        self.type = type
        self.index = index
    }
}

/// The task-balanced sampler (docs/job-file.md, `batch:`): each batch holds a fixed share per task type (equal, or by
/// `batch.weights`), and each type's tasks are drawn from a seeded shuffle of its index list that
/// is reshuffled when exhausted, so every task is drawn once per pass (epoch) over its set.
///
/// - Shares: largest-remainder (Hamilton) apportionment of `batch.tasks` by weight; leftover
///   seats go to the largest fractional parts, ties broken by larger weight, then type name.
///   Every batch gets the same shares. A type with a positive weight that would get no seat is
///   refused (it would never be sampled).
/// - Order: the batch interleaves types round-robin (types by name), so dispatch mixes them.
/// - Determinism: the permutation of epoch e of type t is a function of (seed, t, e) only, so the
///   sampler's whole state is a cursor per type (`State`, Codable) and resumes exactly.
/// - A type whose share exceeds its task count, or a batch straddling an epoch boundary, may hold
///   the same task twice; callers key requests by batch and position, not by task id alone.
///
/// Not thread-safe: a value type mutated by its owner (the coordinator's job state).
public struct TaskBalancedSampler: Sendable {
    /// The resumable state: a cursor into each type's current permutation.
    public struct State: Codable, Sendable, Equatable {
        /// `batch.seed`.
        public var seed: UInt64
        /// Batches drawn so far.
        public var batchesDrawn: Int
        /// One cursor per task type, sorted by type name.
        public var cursors: [Cursor]
    }

    /// Where a type's draw stands.
    public struct Cursor: Codable, Sendable, Equatable {
        /// The task type.
        public var type: String
        /// Tasks in the type's set (checked on resume: the data must not have changed).
        public var taskCount: Int
        /// Completed passes over the set.
        public var epoch: Int
        /// Next position in the current pass's permutation.
        public var position: Int
    }

    /// Tasks of each type per batch, types sorted by name (zero-share types included).
    public let shares: [(type: String, count: Int)]
    /// The state to save; `init(resuming:…)` continues from it.
    public private(set) var state: State
    private var permutations: [String: [Int]] = [:]

    /// A fresh sampler over `taskCounts` (tasks per type).
    ///
    /// - Parameters:
    ///   - weights: per-type weights; empty = equal. Every type must be named when non-empty.
    ///   - batchSize: tasks per batch (`batch.tasks`).
    /// - Throws: `CoordinatorError.invalidBatch` for weights that name unknown types or leave
    ///   one out, or a batch too small to give every weighted type a seat.
    public init(taskCounts: [String: Int], weights: [String: Double] = [:], batchSize: Int, seed: UInt64) throws {
        let cursors = taskCounts.sorted { $0.key < $1.key }.map {
            Cursor(type: $0.key, taskCount: $0.value, epoch: 0, position: 0)
        }
        try self.init(resuming: State(seed: seed, batchesDrawn: 0, cursors: cursors), weights: weights, batchSize: batchSize)
    }

    /// A sampler over a job's catalog, fresh (`state == nil`) or resumed.
    public init(config: JobConfig, catalog: TaskCatalog, state: State? = nil) throws {
        if let state {
            try self.init(resuming: state, weights: config.batch.weights, batchSize: config.batch.tasks)
            for cursor in state.cursors where catalog.taskCounts[cursor.type] != cursor.taskCount {
                throw CoordinatorError(
                    .invalidBatch,
                    "task set '\(cursor.type)' has \(catalog.taskCounts[cursor.type] ?? 0) tasks but the saved "
                        + "sampler state was made over \(cursor.taskCount); the data changed under a running job")
            }
        } else {
            try self.init(
                taskCounts: catalog.taskCounts, weights: config.batch.weights, batchSize: config.batch.tasks,
                seed: config.batch.seed)
        }
    }

    /// Continues from a saved `state`. Throws as `init(taskCounts:…)`.
    public init(resuming state: State, weights: [String: Double], batchSize: Int) throws {
        var state = state
        state.cursors.sort { $0.type < $1.type }
        let types = state.cursors.map(\.type)
        guard Set(types).count == types.count else {
            throw CoordinatorError(.invalidBatch, "the saved sampler state names a task type twice")
        }
        guard !types.isEmpty else { throw CoordinatorError(.invalidBatch, "the sampler needs at least one task type") }
        guard batchSize >= 1 else { throw CoordinatorError(.invalidBatch, "batch.tasks: must be ≥ 1, got \(batchSize)") }
        for cursor in state.cursors where cursor.taskCount < 1 {
            throw CoordinatorError(.invalidBatch, "task set '\(cursor.type)' has no tasks")
        }
        for type in weights.keys where !types.contains(type) {
            throw CoordinatorError(.invalidBatch, "batch.weights.\(type): no task set has this type")
        }
        let effective: [String: Double]
        if weights.isEmpty {
            effective = Dictionary(uniqueKeysWithValues: types.map { ($0, 1.0) })
        } else {
            for type in types where weights[type] == nil {
                throw CoordinatorError(.invalidBatch, "batch.weights: task type '\(type)' has no weight")
            }
            effective = weights
        }
        let shares = try Self.shares(batchSize: batchSize, weights: effective)
        self.shares = types.map { ($0, shares[$0] ?? 0) }
        self.state = state
    }

    /// Largest-remainder apportionment of `batchSize` seats by `weights` (see the type's doc).
    ///
    /// Throws `CoordinatorError.invalidBatch` when all weights are 0, or a positive weight gets no seat.
    public static func shares(batchSize: Int, weights: [String: Double]) throws -> [String: Int] {
        let total = weights.values.reduce(0, +)
        guard total > 0, weights.values.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw CoordinatorError(.invalidBatch, "batch.weights: need non-negative weights, at least one > 0")
        }
        var shares: [String: Int] = [:]
        var remainders: [(type: String, fraction: Double, weight: Double)] = []
        for (type, weight) in weights {
            let quota = Double(batchSize) * weight / total
            let seats = Int(quota.rounded(.down))
            shares[type] = seats
            remainders.append((type, quota - Double(seats), weight))
        }
        var leftover = batchSize - shares.values.reduce(0, +)
        remainders.sort {
            if $0.fraction != $1.fraction { return $0.fraction > $1.fraction }
            if $0.weight != $1.weight { return $0.weight > $1.weight }
            return $0.type < $1.type
        }
        for entry in remainders where leftover > 0 {
            shares[entry.type, default: 0] += 1
            leftover -= 1
        }
        for (type, weight) in weights where weight > 0 && shares[type] == 0 {
            throw CoordinatorError(
                .invalidBatch,
                "batch.tasks: \(batchSize) tasks per batch give task type '\(type)' (weight \(weight) of \(total)) "
                    + "no share, so it would never be sampled; raise batch.tasks or its weight")
        }
        return shares
    }

    /// The next batch: `batch.tasks` picks, types interleaved round-robin.
    public mutating func nextBatch() -> [TaskPick] {
        var perType: [[TaskPick]] = []
        for (slot, share) in shares.enumerated() {
            var picks: [TaskPick] = []
            for _ in 0..<share.count { picks.append(draw(cursorAt: slot)) }
            perType.append(picks)
        }
        var batch: [TaskPick] = []
        let rounds = perType.map(\.count).max() ?? 0
        for round in 0..<rounds {
            for picks in perType where round < picks.count { batch.append(picks[round]) }
        }
        state.batchesDrawn += 1
        return batch
    }

    /// Draws the next task of the type at `slot` (shares and cursors share the name order).
    private mutating func draw(cursorAt slot: Int) -> TaskPick {
        var cursor = state.cursors[slot]
        if cursor.position >= cursor.taskCount {
            cursor.epoch += 1
            cursor.position = 0
            permutations[cursor.type] = nil
        }
        let order = permutation(of: cursor)
        let pick = TaskPick(type: cursor.type, index: order[cursor.position])
        cursor.position += 1
        state.cursors[slot] = cursor
        return pick
    }

    /// The permutation of `cursor`'s current epoch: a function of (seed, type, epoch) only.
    private mutating func permutation(of cursor: Cursor) -> [Int] {
        if let cached = permutations[cursor.type] { return cached }
        var generator = SplitMix64(
            seed: state.seed ^ SplitMix64.stableHash(cursor.type) ^ (UInt64(cursor.epoch) &* 0xD1B5_4A32_D192_ED03))
        var order = Array(0..<cursor.taskCount)
        generator.shuffle(&order)
        permutations[cursor.type] = order
        return order
    }
}
