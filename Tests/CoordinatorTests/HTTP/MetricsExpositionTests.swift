import Foundation
import Testing

@testable import Coordinator

/// `/metrics` text: families, labels, escaping and counter naming (issue 7).
struct MetricsExpositionTests {
    static func status() -> JobStatus {
        JobStatus(
            job: .init(
                name: "demo", phase: "running", runDir: "/tmp/run", startedAt: "2026-01-01T00:00:00Z", uptimeS: 12.5,
                batchesTotal: 10, batchesCompleted: 3, batchesWritten: 2, batchesOpen: 2, requestsDone: 24,
                requestsPerBatch: 8, etaS: 40),
            queue: .init(depth: 5, byType: ["math": 3, "search_qa": 2], inFlight: 4),
            workers: [
                .init(
                    id: "w\"1", host: "node-a", backend: "scripted", slots: 2, busy: 1, lastHeartbeatS: 0.25,
                    policyVersion: 3, tokensPerS: 120.5, draining: false, completed: 11)
            ],
            rates: .init(
                rolloutsPerS: 1.92, tokensPerS: 120.5, activeS: 12.5, requestLatencyP50S: 0.5, requestLatencyP99S: nil),
            counters: .init(
                dispatched: 30, results: 24, duplicates: 1, requeued: 2, failedAttempts: 0, givenUp: 0, workersLost: 0,
                badFrames: 0, unexpectedMessages: 0, generatedTokens: 4000, toolCalls: 9, toolErrors: 2),
            rewards: [
                "math": .init(
                    trajectories: 8, meanReward: 0.25, meanAdvantage: 0, correct: 4, abstained: 1, wrong: 3,
                    rewardByBatch: [0.5, 0], advantageStd: 0.9, advantageByBatch: [0, 0], batchIndices: [0, 1])
            ],
            aepo: .init(masking: true, entropy: 1.2, low: 0.2, high: 0.45),
            tools: [
                "calculator": .init(
                    calls: 9, errors: 2, latencySumS: 0.09, latencyMeanS: 0.01, latencyP50S: 0.008, latencyP99S: 0.03)
            ],
            history: nil)
    }

    let text = MetricsExposition(status: Self.status()).text

    @Test func everyFamilyHasHelpAndTypeBeforeItsSamples() {
        let lines = text.split(separator: "\n").map(String.init)
        var typed: Set<String> = []
        for line in lines {
            if line.hasPrefix("# TYPE ") {
                typed.insert(String(line.split(separator: " ")[2]))
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                let family = ["_sum", "_count"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
                #expect(typed.contains(family), "sample \(line) before its # TYPE")
            }
        }
        #expect(text.hasSuffix("\n"))
    }

    @Test func carriesCountersGaugesAndLabels() {
        #expect(text.contains("# TYPE arbor_rollout_results_total counter\narbor_rollout_results_total 24\n"))
        #expect(text.contains("arbor_queue_depth_by_task_type{task_type=\"math\"} 3\n"))
        #expect(text.contains("arbor_job_info{job=\"demo\",phase=\"running\"} 1\n"))
        #expect(text.contains("arbor_request_latency_seconds{quantile=\"0.5\"} 0.5\n"))
        #expect(!text.contains("quantile=\"0.99\"} nil"))
        #expect(text.contains("arbor_tool_call_duration_seconds_count{tool=\"calculator\"} 9\n"))
        #expect(text.contains("arbor_tool_errors_total{tool=\"calculator\"} 2\n"))
        #expect(text.contains("arbor_trajectory_outcomes_total{outcome=\"wrong\",task_type=\"math\"} 3\n"))
        #expect(text.contains("arbor_aepo_masking 1\n"))
    }

    @Test func escapesLabelValues() {
        #expect(text.contains("arbor_worker_slots{host=\"node-a\",worker=\"w\\\"1\"} 2\n"))
    }
}
