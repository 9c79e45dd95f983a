import ArborProtocol
import Testing
@testable import Worker

/// The worker's protocol state machine, driven with a manual clock and no sockets.
struct WorkerSessionTests {
    func makeSession(slots: Int = 2) -> WorkerSession {
        WorkerSession(settings: .init(workerID: "w1", host: "h", pid: 1, slots: slots, backend: "scripted"), now: 0)
    }

    func envelope(_ body: Body) -> Envelope {
        var envelope = Envelope()
        envelope.protocolVersion = Wire.protocolVersion
        envelope.body = body
        return envelope
    }

    func ack(coordinator: String = "c1") -> Envelope {
        var ack = RegisterAckMessage()
        ack.coordinatorID = coordinator
        ack.heartbeatIntervalMs = 1000
        ack.heartbeatLiveness = 3
        return envelope(.registerAck(ack))
    }

    func request(_ id: String) -> Envelope {
        var request = RolloutRequest()
        request.requestID = id
        return envelope(.rolloutRequest(request))
    }

    func result(_ id: String) -> RolloutResult {
        var result = RolloutResult()
        result.requestID = id
        return result
    }

    func sentNames(_ actions: [WorkerSession.Action]) -> [String] {
        actions.compactMap { if case .send(let body) = $0 { body.name } else { nil } }
    }

    @Test func registersOnConnectAndHeartbeatsEveryInterval() {
        var session = makeSession()
        #expect(sentNames(session.handle(.connected, now: 0)) == ["register"])
        _ = session.handle(.received(ack()), now: 0.1)
        #expect(session.registered)
        #expect(sentNames(session.handle(.tick, now: 1.2)) == ["heartbeat"])
        #expect(sentNames(session.handle(.tick, now: 1.5)).isEmpty)
        #expect(sentNames(session.handle(.tick, now: 2.3)) == ["heartbeat"])
    }

    @Test func startsRequestsWithinSlotsAndRefusesBeyond() {
        var session = makeSession(slots: 1)
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        #expect(session.handle(.received(request("r1")), now: 0.1).contains { if case .start = $0 { true } else { false } })
        let refused = session.handle(.received(request("r2")), now: 0.2)
        guard case .send(.error(let error)) = refused.first else {
            Issue.record("second request not refused")
            return
        }
        #expect(error.code == .refused)
        #expect(error.requestID == "r2")
    }

    @Test func keepsResultsUntilAcknowledgedAndResendsAfterReconnect() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        _ = session.handle(.received(request("r1")), now: 0)
        #expect(sentNames(session.handle(.finished(result("r1")), now: 1)) == ["rollout_result"])
        // The coordinator goes silent past liveness (3 × 1 s): reconnect.
        #expect(session.handle(.tick, now: 4.5).contains(.reconnect))
        #expect(!session.registered)
        #expect(sentNames(session.handle(.connected, now: 5)) == ["register"])
        // A restarted coordinator acknowledges the registration: the unacknowledged result goes again.
        #expect(sentNames(session.handle(.received(ack(coordinator: "c2")), now: 5.1)) == ["rollout_result"])
        var resultAck = Arbor_V1_ResultAck()
        resultAck.requestID = "r1"
        _ = session.handle(.received(envelope(.resultAck(resultAck))), now: 5.2)
        #expect(session.unacknowledged.isEmpty)
    }

    @Test func reconnectBackoffGrows() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        var reconnects: [Double] = []
        var now = 0.0
        while now < 60 {
            now += 0.1
            if session.handle(.tick, now: now).contains(.reconnect) {
                reconnects.append(now)
                _ = session.handle(.connected, now: now)
            }
        }
        let gaps = zip(reconnects.dropFirst(), reconnects).map { $0 - $1 }
        #expect(gaps.count >= 3)
        #expect(gaps.last! > gaps.first!)
    }

    @Test func drainFinishesInFlightWorkThenDeregisters() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        _ = session.handle(.received(request("r1")), now: 0)
        let drain = session.handle(.drainRequested(reason: "SIGTERM"), now: 1)
        #expect(sentNames(drain) == ["drain"])
        #expect(!drain.contains { if case .exit = $0 { true } else { false } })
        // New work is refused while draining.
        #expect(sentNames(session.handle(.received(request("r2")), now: 1.1)) == ["error"])
        _ = session.handle(.finished(result("r1")), now: 2)
        var resultAck = Arbor_V1_ResultAck()
        resultAck.requestID = "r1"
        let last = session.handle(.received(envelope(.resultAck(resultAck))), now: 2.1)
        #expect(sentNames(last) == ["deregister"])
        #expect(last.contains(.exit(code: 0)))
    }

    @Test func aDrainPastItsTimeoutCancelsInFlightRolloutsAndReportsThemCancelled() {
        var settings = WorkerSession.Settings(workerID: "w1", host: "h", pid: 1, slots: 2, backend: "scripted")
        settings.rolloutDrainTimeout = 40
        var session = WorkerSession(settings: settings, now: 0)
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        _ = session.handle(.received(request("r1")), now: 0)
        _ = session.handle(.received(request("r2")), now: 0)
        _ = session.handle(.drainRequested(reason: "SIGTERM"), now: 1)
        // r1 finishes in time; r2 hangs. The coordinator stays in touch.
        _ = session.handle(.finished(result("r1")), now: 2)
        _ = session.handle(.received(envelope(.heartbeat(HeartbeatMessage()))), now: 29.9)
        #expect(session.handle(.tick, now: 30).allSatisfy { if case .exit = $0 { false } else { true } })
        _ = session.handle(.received(envelope(.heartbeat(HeartbeatMessage()))), now: 40.9)
        let late = session.handle(.tick, now: 41.5)
        #expect(late.contains(.cancel(requestID: "r2")))
        let reported = late.compactMap { action -> RolloutResult? in
            if case .send(.rolloutResult(let result)) = action { result } else { nil }
        }
        #expect(reported.map(\.requestID) == ["r2"])
        #expect(reported.first?.rolloutOutcome == .cancelled)
        #expect(reported.first?.workerID == "w1")
        #expect(reported.first?.outcomeDetail.contains("drained") == true)
        #expect(session.inFlight.isEmpty)
        // A result that arrives after all is not sent again; the acknowledgements end the drain.
        #expect(sentNames(session.handle(.finished(result("r2")), now: 42)).isEmpty)
        for id in ["r1", "r2"] {
            var resultAck = Arbor_V1_ResultAck()
            resultAck.requestID = id
            let actions = session.handle(.received(envelope(.resultAck(resultAck))), now: 43)
            if id == "r2" { #expect(actions.contains(.exit(code: 0))) }
        }
    }

    @Test func cancelStopsTheRequest() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        _ = session.handle(.received(request("r1")), now: 0)
        var cancel = Arbor_V1_Cancel()
        cancel.requestID = "r1"
        #expect(session.handle(.received(envelope(.cancel(cancel))), now: 1).contains(.cancel(requestID: "r1")))
        #expect(session.inFlight.isEmpty)
        // A late result of the cancelled request is not sent.
        #expect(sentNames(session.handle(.finished(result("r1")), now: 2)).isEmpty)
    }

    @Test func notRegisteredErrorMakesItRegisterAgain() {
        var session = makeSession()
        _ = session.handle(.connected, now: 0)
        _ = session.handle(.received(ack()), now: 0)
        let actions = session.handle(.received(envelope(Wire.error(.notRegistered, "unknown worker"))), now: 1)
        #expect(sentNames(actions) == ["register"])
    }
}
