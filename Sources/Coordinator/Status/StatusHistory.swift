import Foundation

/// The coordinator's time series for the dashboard: queue depth, in-flight requests, busy slots
/// and throughput, sampled every `interval` seconds. Bounded: when it holds `capacity` samples,
/// every other one is dropped and the interval doubles, so it always spans the whole job in at
/// most `capacity` points. Owned by the coordinator's transport thread.
struct StatusHistory {
    /// Most samples kept; load-bearing for the size of every status reply.
    let capacity: Int
    private(set) var series = JobStatus.History()
    private var lastSampleAt = -Double.infinity
    private var lastResults = 0

    init(capacity: Int = 600, interval: Double = 1) {
        self.capacity = max(capacity, 4)
        series.intervalS = interval
    }

    /// One moment of the job, as read off the core.
    struct Sample {
        var uptime: Double
        var queueDepth: Int
        var inFlight: Int
        var busySlots: Int
        var workers: Int
        var results: Int
        var tokensPerS: Double
    }

    /// Records `sample` if at least one interval passed since the previous one.
    mutating func record(_ sample: Sample) {
        guard sample.uptime - lastSampleAt >= series.intervalS else { return }
        let elapsed = lastSampleAt.isFinite ? sample.uptime - lastSampleAt : sample.uptime
        let rate = elapsed > 0 ? Double(sample.results - lastResults) / elapsed : 0
        lastSampleAt = sample.uptime
        lastResults = sample.results
        series.tS.append((sample.uptime * 1000).rounded() / 1000)
        series.queueDepth.append(sample.queueDepth)
        series.inFlight.append(sample.inFlight)
        series.busySlots.append(sample.busySlots)
        series.workers.append(sample.workers)
        series.rolloutsPerS.append(rate)
        series.tokensPerS.append(sample.tokensPerS)
        if series.tS.count >= capacity { halve() }
    }

    /// Keeps every other sample (the newest always) and doubles the interval.
    private mutating func halve() {
        let keep = stride(from: series.tS.count - 1, through: 0, by: -2).reversed()
        func thin<T>(_ values: [T]) -> [T] { keep.map { values[$0] } }
        series.tS = thin(series.tS)
        series.queueDepth = thin(series.queueDepth)
        series.inFlight = thin(series.inFlight)
        series.busySlots = thin(series.busySlots)
        series.workers = thin(series.workers)
        series.rolloutsPerS = thin(series.rolloutsPerS)
        series.tokensPerS = thin(series.tokensPerS)
        series.intervalS *= 2
    }
}
