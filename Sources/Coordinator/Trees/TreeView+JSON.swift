extension TreeView {
    /// The view as the JSON document of `GET /api/trees` (docs/trees.schema.json), keys in the
    /// documented order.
    public func json() -> String {
        OrderedJSON.object([
            ("batch", .integer(batch)), ("batches", .integers(batches)),
            ("tasks", .array(taskIDs.map(OrderedJSON.string))), ("trees", .array(trees.map(\.json))),
        ]).text
    }
}

extension TreeView.Tree {
    var json: OrderedJSON {
        .object([
            ("task_id", .string(taskID)), ("task_type", .string(taskType)),
            ("policy_version", policyVersion.map(OrderedJSON.unsigned) ?? .null),
            ("best_leaf", .integer(bestLeaf)), ("worst_leaf", .integer(worstLeaf)),
            ("nodes", .array(nodes.map(\.json))),
        ])
    }
}

extension TreeView.Node {
    var json: OrderedJSON {
        let trajectory = trajectory.map { trajectory -> OrderedJSON in
            .object([
                ("reward", .number(trajectory.reward)), ("advantage", .number(trajectory.advantage)),
                ("weight", .number(trajectory.weight)),
            ])
        }
        return .object([
            ("id", .integer(id)), ("parent", parent.map(OrderedJSON.integer) ?? .null), ("depth", .integer(depth)),
            ("text", .string(text)), ("text_source", .string(textSource)),
            ("tool_calls", .array(toolCalls.map(\.json))), ("tool_result", toolResult.map(OrderedJSON.string) ?? .null),
            ("format", .number(format)), ("format_checks", .array(formatChecks.map(\.json))),
            ("reward", reward.map(OrderedJSON.number) ?? .null),
            ("fork_advantage", forkAdvantage.map(OrderedJSON.number) ?? .null),
            ("outcome", outcome.map(OrderedJSON.integer) ?? .null), ("answer", answer.map(OrderedJSON.string) ?? .null),
            ("trajectory", trajectory ?? .null), ("best_path", .bool(onBestPath)), ("worst_path", .bool(onWorstPath)),
        ])
    }
}
