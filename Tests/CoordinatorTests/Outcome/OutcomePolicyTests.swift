import ArborProtocol
import Testing
@testable import Coordinator

/// The per-reason failure policy of job.yaml `failures:` as a pure function (issue 16).
struct OutcomePolicyTests {
    @Test func scoredOutcomesAlwaysReachTheSignal() {
        let policy = OutcomePolicy(settings: FailureSettings())
        for outcome in [RolloutOutcome.ok, .modelError] {
            #expect(policy.decide(outcome, retriesUsed: 99, hasTree: false) == .score)
        }
    }

    @Test(arguments: RolloutOutcome.failures)
    func defaultIsRetryThenDrop(_ outcome: RolloutOutcome) {
        let policy = OutcomePolicy(settings: FailureSettings())
        #expect(policy.settings.maxRetries == 2)
        #expect(policy.decide(outcome, retriesUsed: 0, hasTree: true) == .retry)
        #expect(policy.decide(outcome, retriesUsed: 1, hasTree: true) == .retry)
        #expect(policy.decide(outcome, retriesUsed: 2, hasTree: true) == .drop)
    }

    @Test func dropAndMaskApplyAtOnce() {
        var settings = FailureSettings()
        settings.policies[.timeout] = .drop
        settings.policies[.toolInfraError] = .mask
        let policy = OutcomePolicy(settings: settings)
        #expect(policy.decide(.timeout, retriesUsed: 0, hasTree: true) == .drop)
        #expect(policy.decide(.toolInfraError, retriesUsed: 0, hasTree: true) == .mask)
        // A mask keeps rows; a failure without a valid tree has none to keep.
        #expect(policy.decide(.toolInfraError, retriesUsed: 0, hasTree: false) == .drop)
    }

    @Test func exhaustedRetriesEndInTheConfiguredFinalPolicy() {
        var settings = FailureSettings()
        settings.maxRetries = 0
        settings.afterRetries = .mask
        let policy = OutcomePolicy(settings: settings)
        #expect(policy.decide(.backendError, retriesUsed: 0, hasTree: true) == .mask)
        #expect(policy.decide(.backendError, retriesUsed: 0, hasTree: false) == .drop)
    }

    @Test func storedReasonsNameTheirOutcome() {
        #expect(CoordinatorCore.outcome(ofStoredReason: "timeout: no result within 5 s") == .timeout)
        #expect(CoordinatorCore.outcome(ofStoredReason: "contract_violation: tree of task 'x'") == .contractViolation)
        // Reasons from before outcomes were typed are a worker's error message.
        #expect(CoordinatorCore.outcome(ofStoredReason: "inference failed: out of memory") == .backendError)
        #expect(CoordinatorCore.outcome(ofStoredReason: "ok: looks fine") == .backendError)
    }
}
