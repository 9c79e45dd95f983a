/// PruneTIR: suspends a tool for one trajectory after K consecutive failed calls of it.
///
/// A value type on purpose: when a rollout tree forks, each child trajectory copies its parent's
/// tracker and goes on counting on its own. Not shared between threads; the rollout driver owns
/// one per trajectory. `threshold` 0 turns it off (the default, `tools.suspend_after_failures`).
public struct ToolFailureTracker: Sendable, Equatable {
    /// Consecutive failures that suspend a tool; 0 = never suspend.
    public let threshold: Int
    /// Consecutive failures so far, by tool name (reset by a success).
    public private(set) var consecutiveFailures: [String: Int] = [:]
    /// Tools suspended for this trajectory.
    public private(set) var suspended: Set<String> = []

    /// A tracker suspending after `threshold` consecutive failures (0 = off).
    public init(threshold: Int) {
        self.threshold = max(0, threshold)
    }

    /// Whether calls of `tool` are refused for this trajectory.
    public func isSuspended(_ tool: String) -> Bool {
        suspended.contains(tool)
    }

    /// Records a finished call; returns true when this failure suspended the tool just now.
    @discardableResult
    public mutating func record(tool: String, failed: Bool) -> Bool {
        guard threshold > 0 else { return false }
        guard failed else {
            consecutiveFailures[tool] = 0
            return false
        }
        let count = (consecutiveFailures[tool] ?? 0) + 1
        consecutiveFailures[tool] = count
        if count >= threshold, !suspended.contains(tool) {
            suspended.insert(tool)
            return true
        }
        return false
    }

    /// What the model is told when `tool` gets suspended.
    public func suspensionNotice(for tool: String) -> String {
        "the tool '\(tool)' failed \(threshold) times in a row and is suspended for the rest of this attempt; "
            + "continue without it"
    }
}
