import Worker

/// How many workers `arbor run` starts, with how many slots and engine threads each.
///
/// The builtin engine batches every live branch of every tree it serves into one decode step, so
/// on one machine a single worker on all cores with many requests beats several workers splitting
/// the cores with small batches each. Other backends keep 2 workers × 1 slot.
struct WorkerLayout: Equatable {
    var workers: Int
    var slots: Int
    /// OpenBLAS threads of each builtin worker's engine: the cores split between the workers.
    var threadsPerWorker: Int

    /// The layout for `backend` on a machine with `cores`; `workers` and `slots` (from the command
    /// line) win over the defaults when given.
    init(backend: String, trajectories: Int, cores: Int, workers: Int?, slots: Int?) {
        let builtin = backend == "builtin"
        self.workers = workers ?? (builtin ? 1 : 2)
        threadsPerWorker = max(1, cores / self.workers)
        self.slots = slots ?? (builtin ? BuiltinBackend.requestSlots(trajectories: trajectories, threads: threadsPerWorker) : 1)
    }
}
