/// The format checks of one step, from which the step's `format` score is computed.
///
/// docs/learning-signal.md: `format` ∈ [0,1] is the fraction of the step's format checks passed (well-formed
/// tags, JSON parses, tool known, arguments valid for its schema, tool ran without error). Here a
/// step has one `tags` check, then for each call entry the four checks in order; once one fails,
/// the later checks of that call cannot pass and are recorded as failed ("not reached"), so a
/// malformed call costs as much as it skipped. A step without tool calls (a final answer) has
/// only the `tags` check.
public struct StepFormatReport: Sendable, Equatable {
    /// One check and its outcome.
    public struct Check: Sendable, Equatable {
        /// Which check: `tags`, `json`, `known_tool`, `valid_arguments`, `ran_ok`.
        public var name: String
        /// The call entry it belongs to (0-based), nil for the step-level `tags` check.
        public var call: Int?
        /// Whether it passed.
        public var passed: Bool
        /// Why it failed, empty when it passed.
        public var detail: String

        /// A check from its parts.
        public init(name: String, call: Int?, passed: Bool, detail: String = "") {
            self.name = name
            self.call = call
            self.passed = passed
            self.detail = detail
        }
    }

    /// The checks in order.
    public var checks: [Check]

    /// A report of `checks`.
    public init(checks: [Check] = []) {
        self.checks = checks
    }

    /// Fraction of checks passed, in [0, 1]; 1 when there are no checks.
    public var score: Double {
        checks.isEmpty ? 1 : Double(checks.filter(\.passed).count) / Double(checks.count)
    }

    /// The names of the per-call checks, in the order they are reached.
    public static let callCheckNames = ["json", "known_tool", "valid_arguments", "ran_ok"]

    /// Records one call entry: checks before `failedAt` passed, the one at it failed with
    /// `detail`, the rest were not reached. `failedAt` nil = all four passed.
    mutating func recordCall(_ index: Int, failedAt: String?, detail: String) {
        var failed = false
        for name in Self.callCheckNames {
            if name == failedAt {
                failed = true
                checks.append(Check(name: name, call: index, passed: false, detail: detail))
            } else {
                checks.append(Check(name: name, call: index, passed: !failed, detail: failed ? "not reached" : ""))
            }
        }
    }
}
