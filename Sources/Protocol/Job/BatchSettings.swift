/// The `batch:` section of job.yaml: how the task-balanced sampler builds batches.
public struct BatchSettings: Codable, Sendable, Equatable {
    /// Tasks (trees) per batch.
    public var tasks: Int = 16
    /// Share of each task type in a batch; empty = equal shares. When given, every task type
    /// must be named (0 leaves a type out).
    public var weights: [String: Double] = [:]
    /// Batches open at once, so workers never idle at a batch boundary.
    public var maxBatchesInFlight: Int = 2
    /// Seed of the sampler's shuffles.
    public var seed: UInt64 = 0
    /// Batches the job runs before it finishes.
    public var count: Int = 1

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case tasks, weights
        case maxBatchesInFlight = "max_batches_in_flight"
        case seed, count
    }

    /// Encodes `weights` with its keys sorted, so the job as run is the same text every time.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tasks, forKey: .tasks)
        if !weights.isEmpty {
            var nested = container.nestedContainer(keyedBy: NameKey.self, forKey: .weights)
            for (type, weight) in weights.sorted(by: { $0.key < $1.key }) {
                try nested.encode(weight, forKey: NameKey(type))
            }
        }
        try container.encode(maxBatchesInFlight, forKey: .maxBatchesInFlight)
        try container.encode(seed, forKey: .seed)
        try container.encode(count, forKey: .count)
    }
}

/// A coding key made from a run-time name (a task type).
struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension BatchSettings {
    init(reading map: JobYAMLMap?) throws {
        self.init()
        guard let map else { return }
        tasks = try map.int("tasks", default: tasks, Bounds.atLeast(1))
        if let weightMap = try map.map("weights") {
            for type in weightMap.presentKeys {
                weights[type] = try weightMap.double(type, default: 1, Bounds.atLeast(0))
            }
            if !weights.isEmpty, weights.values.allSatisfy({ $0 == 0 }) {
                throw map.error(.invalidValue, "weights", "at least one weight must be > 0")
            }
        }
        maxBatchesInFlight = try map.int("max_batches_in_flight", default: maxBatchesInFlight, Bounds.atLeast(1))
        seed = try map.uint64("seed", default: seed)
        count = try map.int("count", default: count, Bounds.atLeast(1))
        try map.rejectUnknownKeys()
    }
}
