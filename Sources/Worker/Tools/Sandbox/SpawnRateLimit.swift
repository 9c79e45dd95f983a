import Foundation
import Synchronization

/// At most `rate` sandbox spawns per second, after a burst of up to `burst` from a quiet start:
/// in any interval of L seconds, at most `burst + rate × L` spawns begin.
///
/// Each spawn reserves its start time (the generic cell rate algorithm): the earliest time that
/// keeps the bound, which is now while the budget lasts. A caller past its budget waits for its
/// time on its own thread, so model-written code that calls the tool from every branch at once
/// cannot turn into a storm of process creation on the worker's host. Thread-safe.
final class SpawnRateLimit: Sendable {
    /// Spawns per second, sustained.
    let rate: Double
    /// Spawns that may start at once after a quiet spell (≥ 1).
    let burst: Int
    /// The theoretical time of the next spawn had every spawn been spaced by 1 / rate.
    private let nextSpaced = Mutex<Double>(-.infinity)

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Reserves one spawn asked for at `now` (seconds, any monotonic origin); returns when it
    /// may begin (≥ `now`).
    func reserve(now: Double) -> Double {
        let interval = 1 / rate
        return nextSpaced.withLock { spaced in
            let start = max(now, spaced - Double(burst - 1) * interval)
            spaced = max(spaced, start) + interval
            return start
        }
    }

    /// Reserves one spawn and blocks the calling thread until it may begin. An infinite rate
    /// never waits.
    func waitForTurn() {
        guard rate.isFinite else { return }
        let now = Self.now()
        let start = reserve(now: now)
        if start > now { Thread.sleep(forTimeInterval: start - now) }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
