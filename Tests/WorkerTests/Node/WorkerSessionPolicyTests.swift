import ArborProtocol
import Testing
@testable import Worker

/// Policy updates in the worker's state machine: finish or abort in-flight work, load between
/// requests, report the version (issue 8).
extension WorkerSessionTests {
    func update(version: UInt64, path: String = "/w/v.gguf", abort: Bool = false) -> Envelope {
        var update = Arbor_V1_PolicyUpdate()
        update.version = version
        update.weightsPath = path
        update.abortInFlight = abort
        return envelope(.policyUpdate(update))
    }

    func registeredSession(slots: Int = 2) -> WorkerSession {
        var session = makeSession(slots: slots)
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        return session
    }

    @Test func anUpdateWaitsForInFlightRequestsThenLoadsAndReports() {
        var session = registeredSession()
        _ = session.handle(.received(request("r1")), now: 0.1)
        #expect(session.handle(.received(update(version: 1, path: "/w/v1.gguf")), now: 0.2).isEmpty)
        #expect(!session.acceptsWork, "no new work while a policy waits to load")
        // The request finishes on the old weights; then the load starts.
        let finished = session.handle(.finished(result("r1")), now: 0.3)
        #expect(sentNames(finished) == ["rollout_result"])
        #expect(finished.contains(.loadPolicy(version: 1, weightsPath: "/w/v1.gguf")))
        #expect(session.policyVersion == 0)
        let loaded = session.handle(.policyLoaded(version: 1, error: nil), now: 0.4)
        guard case .send(.policyLoaded(let report)) = loaded.first else {
            Issue.record("no PolicyLoaded report: \(loaded)")
            return
        }
        #expect(report.version == 1 && report.error.isEmpty && report.workerID == "w1")
        #expect(session.policyVersion == 1)
        #expect(session.acceptsWork)
        // Requests are stamped with the version the worker serves.
        let started = session.handle(.received(request("r2")), now: 0.45)
        #expect(started.contains { if case .start(let request) = $0 { request.policyVersion == 1 } else { false } })
        // The same update again (re-sent after a reconnect) does not reload.
        #expect(session.handle(.received(update(version: 1, path: "/w/v1.gguf")), now: 0.5).isEmpty)
    }

    @Test func anAbortingUpdateRefusesInFlightRequestsSoTheyAreRequeued() {
        var session = registeredSession()
        _ = session.handle(.received(request("r1")), now: 0.1)
        _ = session.handle(.received(request("r2")), now: 0.1)
        let actions = session.handle(.received(update(version: 2, abort: true)), now: 0.2)
        #expect(actions.contains(.cancel(requestID: "r1")) && actions.contains(.cancel(requestID: "r2")))
        let refusals = actions.compactMap { action -> String? in
            guard case .send(.error(let error)) = action, error.code == .refused else { return nil }
            return error.requestID
        }
        #expect(Set(refusals) == ["r1", "r2"], "refused requests are requeued without counting as failed attempts")
        #expect(actions.contains(.loadPolicy(version: 2, weightsPath: "/w/v.gguf")))
        #expect(session.inFlight.isEmpty)
        // A result of an aborted request that still arrives is not sent.
        #expect(sentNames(session.handle(.finished(result("r1")), now: 0.3)).isEmpty)
    }

    @Test func aFailedLoadIsReportedAndKeepsTheOldVersion() {
        var session = registeredSession()
        _ = session.handle(.received(update(version: 1, path: "/missing.gguf")), now: 0.1)
        let failed = session.handle(.policyLoaded(version: 1, error: "cannot open /missing.gguf"), now: 0.2)
        guard case .send(.policyLoaded(let report)) = failed.first else {
            Issue.record("no PolicyLoaded report: \(failed)")
            return
        }
        #expect(report.error.contains("/missing.gguf"))
        #expect(session.policyVersion == 0)
    }

    @Test func aWorkerThatMissedAnUpdateLoadsThePolicyNamedAtRegistration() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        var ack = RegisterAckMessage()
        ack.coordinatorID = "c1"
        ack.policyVersion = 3
        ack.policyWeightsPath = "/w/v3.gguf"
        let actions = session.handle(.received(envelope(.registerAck(ack))), now: 0.1)
        #expect(actions.contains(.loadPolicy(version: 3, weightsPath: "/w/v3.gguf")))
    }
}
