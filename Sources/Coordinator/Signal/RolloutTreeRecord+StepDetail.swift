extension RolloutTreeRecord {
    /// One tool call of a step as the worker ran it: what the viewer shows beside the step's text.
    /// The learning signal reads only the count (`Node.toolCalls`), never these.
    public struct ToolCall: Codable, Sendable, Equatable {
        /// The tool's name.
        public var name: String
        /// The call's arguments as compact JSON text ("" when they did not parse).
        public var arguments: String
        /// Whether the tool ran and answered.
        public var ok: Bool
        /// What the tool answered (the text the model saw next).
        public var output: String
        /// Why it failed ("" when `ok`).
        public var error: String

        /// A call with the given fields.
        public init(name: String, arguments: String, ok: Bool, output: String, error: String) {
            self.name = name
            self.arguments = arguments
            self.ok = ok
            self.output = output
            self.error = error
        }

        var json: OrderedJSON {
            .object([
                ("name", .string(name)), ("arguments", .string(arguments)), ("ok", .bool(ok)),
                ("output", .string(output)), ("error", .string(error)),
            ])
        }
    }

    /// One format check of a step (`tags`, `json_parses`, `answer`, …) and its verdict.
    public struct FormatCheck: Codable, Sendable, Equatable {
        /// The check's name.
        public var name: String
        /// Whether the step passed it.
        public var passed: Bool
        /// What was wrong ("" when passed).
        public var detail: String

        /// A check with the given fields.
        public init(name: String, passed: Bool, detail: String) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }

        var json: OrderedJSON {
            .object([("name", .string(name)), ("passed", .bool(passed)), ("detail", .string(detail))])
        }
    }
}
