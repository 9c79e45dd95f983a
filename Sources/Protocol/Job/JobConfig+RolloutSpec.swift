extension RolloutSpec {
    /// The job's tree shape, sampling settings and scripted latency for one request; the seed and
    /// system prompt differ per request. Used by the coordinator's planner and the rollout benchmark.
    public init(job: JobConfig, seed: UInt64, systemPrompt: String) {
        self.init()
        trajectories = UInt32(job.tree.trajectories)
        branching = UInt32(job.tree.branching)
        maxToolSteps = UInt32(job.tree.maxToolSteps)
        maxStepTokens = UInt32(job.sampling.maxStepTokens)
        temperature = Float(job.sampling.temperature)
        topP = Float(job.sampling.topP)
        topK = UInt32(job.sampling.topK)
        self.seed = seed
        self.systemPrompt = systemPrompt
        scriptedStepLatencyMs = UInt32(job.workers.scriptedStepLatencyMs)
        if job.workers.scriptedFaults.isActive { scriptedFaults = job.workers.scriptedFaults.wire }
    }
}

extension RolloutSpec {
    /// The spec of one eval task: a single trajectory (no branching) with the job's tools budget
    /// and step length, decoded greedily (temperature 0) or with the job's sampling settings as
    /// `eval.decoding` says.
    public init(evalOf job: JobConfig, seed: UInt64, systemPrompt: String) {
        self.init(job: job, seed: seed, systemPrompt: systemPrompt)
        trajectories = 1
        branching = 1
        // An eval measures the policy, not the fault handling: no injected faults.
        clearScriptedFaults()
        if (job.eval?.decoding ?? .greedy) == .greedy {
            temperature = 0
            topP = 1
            topK = 0
        }
    }
}
