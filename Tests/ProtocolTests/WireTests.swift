import ArborProtocol
import Foundation
import Testing

/// Every message type round-trips through one frame; bad frames are rejected with a reason.
struct WireTests {
    static func sampleBodies() -> [Body] {
        var register = RegisterMessage()
        register.workerID = "host-1-abc"
        register.host = "host"
        register.pid = 42
        register.slots = 3
        register.backend = "scripted"
        register.policyVersion = 7
        register.inFlightRequestIds = ["b000001-00"]
        var ack = RegisterAckMessage()
        ack.coordinatorID = "c1"
        ack.heartbeatIntervalMs = 1000
        ack.heartbeatLiveness = 5
        ack.jobYaml = "name: x\n"
        var beat = HeartbeatMessage()
        beat.workerID = "w"
        beat.busySlots = 2
        beat.tokensPerSecond = 123.5
        var request = RolloutRequest()
        request.requestID = "b000001-03"
        request.attempt = 2
        request.task.taskID = "math-0001"
        request.task.taskType = "math"
        request.task.prompt = "What is 6 × 7?"
        request.task.answer = "42"
        request.task.tools = ["calculator"]
        request.spec.trajectories = 8
        request.spec.branching = 2
        request.spec.maxToolSteps = 4
        request.spec.temperature = 0.7
        request.spec.seed = .max
        var node = WireTreeNode()
        node.id = 1
        node.parent = 0
        node.tokenIds = [1, 2, 3]
        node.logprobs = [-0.5, -1, -0.25]
        node.entropies = [1, 2, 3]
        node.contextIds = [9, 9]
        node.isLeaf = true
        node.outcome = -1
        var call = WireToolCall()
        call.name = "calculator"
        call.argumentsJson = #"{"expression":"6*7"}"#
        call.ok = true
        call.output = "42"
        node.toolCalls = [call]
        var check = WireFormatCheck()
        check.name = "json_parses"
        check.passed = true
        node.formatChecks = [check]
        var result = RolloutResult()
        result.requestID = "b000001-03"
        result.workerID = "w"
        result.taskID = "math-0001"
        var root = WireTreeNode()
        root.parent = -1
        root.tokenIds = [5, 6]
        result.tree.nodes = [root, node]
        result.stats.generatedTokens = 3
        var resultAck = Arbor_V1_ResultAck()
        resultAck.requestID = "b000001-03"
        var cancel = Arbor_V1_Cancel()
        cancel.requestID = "b000001-03"
        cancel.reason = "answered elsewhere"
        var drain = Arbor_V1_Drain()
        drain.workerID = "w"
        var goodbye = Arbor_V1_Deregister()
        goodbye.workerID = "w"
        var update = Arbor_V1_PolicyUpdate()
        update.version = 3
        update.weightsPath = "/models/v3.gguf"
        var loaded = Arbor_V1_PolicyLoaded()
        loaded.version = 3
        var reply = Arbor_V1_StatusReply()
        reply.statusJson = #"{"job":{}}"#
        var pull = Arbor_V1_BatchPull()
        pull.minPolicyVersion = 1
        var batch = Arbor_V1_TrainingBatch()
        batch.batchIndex = 4
        batch.rowsJsonl = "{}\n"
        batch.staleRowsDropped = 2
        batch.policyVersion = 3
        var batchAck = Arbor_V1_BatchAck()
        batchAck.batchIndex = 4
        var published = Arbor_V1_PolicyPublished()
        published.version = 3
        published.workersNotified = 2
        return [
            .register(register), .registerAck(ack), .heartbeat(beat), .rolloutRequest(request),
            .rolloutResult(result), .resultAck(resultAck), .cancel(cancel), .drain(drain), .deregister(goodbye),
            .policyUpdate(update), .policyLoaded(loaded), .statusQuery(Arbor_V1_StatusQuery()), .statusReply(reply),
            .batchPull(pull), .trainingBatch(batch), .batchAck(batchAck),
            .policyPublished(published), Wire.error(.badRequest, "bad", requestID: "b000001-03"),
        ]
    }

    @Test func everyMessageRoundTrips() throws {
        let bodies = Self.sampleBodies()
        // One sample per oneof case of Envelope.body.
        #expect(Set(bodies.map(\.name)).count == 18)
        for (index, body) in bodies.enumerated() {
            let frame = Wire.encode(body, sequence: UInt64(index))
            let decoded = try Wire.decode(frame)
            #expect(decoded.body == body, "\(body.name) changed in transit")
            #expect(decoded.sequence == UInt64(index))
            #expect(decoded.protocolVersion == Wire.protocolVersion)
        }
    }

    @Test func garbageIsRejectedAsBadFrame() {
        for garbage: [UInt8] in [[0xff, 0xff, 0xff], [0x0a, 0x80], Array("hello".utf8)] {
            #expect(throws: ProtocolError.self) { try Wire.decode(garbage) }
            do {
                _ = try Wire.decode(garbage)
            } catch let error as ProtocolError {
                #expect(error.code == .badFrame || error.code == .unsupportedVersion)
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
    }

    @Test func wrongVersionIsRejectedWithTheVersionNamed() throws {
        var envelope = Envelope()
        envelope.protocolVersion = 9
        envelope.body = .heartbeat(HeartbeatMessage())
        do {
            _ = try Wire.decode(try envelope.serializedBytes())
            Issue.record("version 9 was accepted")
        } catch let error as ProtocolError {
            #expect(error.code == .unsupportedVersion)
            #expect(error.message.contains("9"))
        }
    }

    @Test func emptyEnvelopeIsAnUnexpectedMessage() throws {
        var envelope = Envelope()
        envelope.protocolVersion = Wire.protocolVersion
        #expect(throws: ProtocolError.self) { try Wire.decode(try envelope.serializedBytes()) }
    }

    @Test func errorRepliesCarryTheMatchingCode() throws {
        let reply = try Wire.decode(Wire.errorReply(for: ProtocolError(.unsupportedVersion, "v2")))
        guard case .error(let error) = reply.body else {
            Issue.record("not an error")
            return
        }
        #expect(error.code == .unsupportedVersion)
        #expect(error.message == "v2")
    }
}
