import Testing

@testable import Coordinator

/// The dashboard's time series: sampling interval, rates and the bounded, whole-job span (issue 7).
struct StatusHistoryTests {
    func sample(_ uptime: Double, results: Int) -> StatusHistory.Sample {
        .init(uptime: uptime, queueDepth: 3, inFlight: 2, busySlots: 2, workers: 1, results: results, tokensPerS: 10)
    }

    @Test func samplesAtMostOncePerIntervalWithRatesBetweenSamples() {
        var history = StatusHistory(capacity: 100, interval: 1)
        history.record(sample(1, results: 4))
        history.record(sample(1.5, results: 6))
        history.record(sample(3, results: 10))
        #expect(history.series.tS == [1, 3])
        #expect(history.series.rolloutsPerS == [4, 3])
        #expect(history.series.queueDepth == [3, 3])
    }

    @Test func halvesWhenFullAndKeepsTheNewestSample() {
        var history = StatusHistory(capacity: 8, interval: 1)
        for second in 1...8 { history.record(sample(Double(second), results: second)) }
        #expect(history.series.tS == [2, 4, 6, 8])
        #expect(history.series.intervalS == 2)
        history.record(sample(9, results: 9))
        #expect(history.series.tS.count == 4)
        history.record(sample(10, results: 10))
        #expect(history.series.tS == [2, 4, 6, 8, 10])
        #expect(history.series.inFlight.count == history.series.tS.count)
    }
}
