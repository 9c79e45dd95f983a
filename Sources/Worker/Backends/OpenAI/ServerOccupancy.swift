import Synchronization

/// How long a completions server had this backend's requests in hand, for `arbor bench rollout`:
/// the server counts as busy while at least one request is outstanding. Thread-safe.
public final class ServerOccupancy: Sendable {
    /// The figures so far.
    public struct Figures: Sendable, Equatable {
        /// Seconds with at least one request outstanding.
        public var busySeconds = 0.0
        /// Sum over requests of their durations: the time integral of requests outstanding.
        public var requestSeconds = 0.0
        /// Requests completed (successfully or not).
        public var requests = 0

        /// Mean requests outstanding while busy (0 before the first).
        public var meanOutstanding: Double { busySeconds > 0 ? requestSeconds / busySeconds : 0 }
    }

    private struct State {
        var figures = Figures()
        var outstanding = 0
        var busySince: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    init() {}

    /// A request was sent.
    func begin() {
        state.withLock { state in
            if state.outstanding == 0 { state.busySince = .now }
            state.outstanding += 1
        }
    }

    /// A request sent `seconds` ago has its answer (or failed).
    func end(seconds: Double) {
        state.withLock { state in
            state.outstanding -= 1
            state.figures.requests += 1
            state.figures.requestSeconds += seconds
            if state.outstanding == 0, let since = state.busySince {
                state.figures.busySeconds += RolloutLoop<CompletionGenerator>.seconds(since.duration(to: .now))
                state.busySince = nil
            }
        }
    }

    /// The figures so far (a request still outstanding counts up to now).
    public var figures: Figures {
        state.withLock { state in
            var figures = state.figures
            if let since = state.busySince {
                figures.busySeconds += RolloutLoop<CompletionGenerator>.seconds(since.duration(to: .now))
            }
            return figures
        }
    }
}
