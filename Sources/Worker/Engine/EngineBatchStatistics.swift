/// What the engine's forward passes for `step` have run, for utilization reports and tests.
///
/// A *decode row* is a sampled token run to get the next distribution; a *prefill row* is a
/// token of a deferred prompt or tool response. A *mixed pass* ran both: prefill that joined the
/// running decode batch instead of stalling it (continuous batching).
public struct EngineBatchStatistics: Sendable, Equatable {
    /// Forward passes run by `step`.
    public var passes = 0
    /// Sampled tokens run, over all passes.
    public var decodeRows = 0
    /// Deferred prompt and tool-response tokens run, over all passes.
    public var prefillRows = 0
    /// Passes that ran decode rows and prefill rows together.
    public var mixedPasses = 0

    /// No passes yet.
    public init() {}
}
