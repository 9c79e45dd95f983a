extension RolloutResult {
    /// The result's outcome, read from the wire.
    public var rolloutOutcome: RolloutOutcome { RolloutOutcome(wire: outcome) }

    /// The outcome its tree implies when the backend reported success: `toolInfraError` when any
    /// tool call failed for infrastructure reasons, `modelError` when a call failed by the model's
    /// doing, else `ok`. A reported failure stays as reported.
    ///
    /// Both sides apply it: the worker before sending, the coordinator on arrival (a peer that
    /// does not classify its tool calls is still held to it).
    public var classifiedOutcome: RolloutOutcome {
        let reported = rolloutOutcome
        guard reported.isScored else { return reported }
        let calls = tree.nodes.lazy.flatMap(\.toolCalls)
        if calls.contains(where: \.infraError) { return .toolInfraError }
        if calls.contains(where: { !$0.ok }) { return .modelError }
        return reported
    }

    /// The detail of `classifiedOutcome`: the reported detail, or the first infrastructure
    /// failure's tool and error.
    public var classifiedDetail: String {
        guard outcomeDetail.isEmpty, classifiedOutcome == .toolInfraError,
            let call = tree.nodes.lazy.flatMap(\.toolCalls).first(where: \.infraError)
        else { return outcomeDetail }
        return "tool '\(call.name)' failed for infrastructure reasons: \(call.error)"
    }

    /// A result that reports a failed rollout of `request` (no tree unless `tree` is given).
    public static func failed(
        _ request: RolloutRequest, outcome: RolloutOutcome, detail: String, tree: WireTree = WireTree()
    ) -> RolloutResult {
        var result = RolloutResult()
        result.requestID = request.requestID
        result.taskID = request.task.taskID
        result.tree = tree
        result.outcome = outcome.wire
        result.outcomeDetail = detail
        return result
    }
}
