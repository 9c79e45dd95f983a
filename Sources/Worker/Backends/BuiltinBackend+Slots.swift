import Foundation

extension BuiltinBackend {
    /// Live branches per engine thread that keep a batched decode step in its efficient range.
    ///
    /// Derived, not measured at start-up (a measurement would cost every worker seconds of
    /// decoding before its first request and vary with the neighbours' load): a decode step reads
    /// every weight once whatever the batch, so aggregate tok/s climbs with the batch until the
    /// step turns compute-bound, which happens at more rows the more cores share it. On this
    /// engine `arbor bench engine` shows the climb flattening around 16 rows per thread
    /// (2 threads: 125 tok/s at B=16, 148–174 at B=32).
    public static let efficientRowsPerThread = 16

    /// Requests a worker on this engine serves at once so its decode batch stays full: the
    /// efficient batch (`efficientRowsPerThread × threads`) over the branches one tree decodes at
    /// its start (`trajectories`), rounded up; at least 1.
    ///
    /// Counting only a tree's first round undercounts the branches of later rounds (a fork at a
    /// tool call doubles them) but those rounds also spend time waiting for tools, so the two
    /// roughly cancel; the mean live batch is reported by `arbor bench rollout`.
    public static func requestSlots(trajectories: Int, threads: Int) -> Int {
        let rows = efficientRowsPerThread * max(1, threads)
        return max(1, (rows + max(1, trajectories) - 1) / max(1, trajectories))
    }

    /// Cores this machine offers the engine: the process's active processor count.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
