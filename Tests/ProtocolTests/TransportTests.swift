import ArborProtocol
import Foundation
import Synchronization
import Testing

/// The ZeroMQ layer over real sockets on loopback.
struct TransportTests {
    /// A ROUTER on a thread of its own (sockets never leave their thread, and an async test may
    /// resume on another) answers one status query from a `DealerClient`.
    @Test func dealerTalksToRouterOverTCP() async throws {
        let context = ZMQContext()
        let bound = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let seen = Mutex<(endpoint: String, frames: Int, body: Body?)>(("", 0, nil))
        Thread {
            guard let router = try? ZMQSocket(context: context, type: .router),
                let endpoint = try? router.bind("tcp://127.0.0.1:0")
            else {
                bound.signal()
                return
            }
            seen.withLock { $0.endpoint = endpoint }
            bound.signal()
            var poller = Poller()
            _ = poller.add(router)
            var message: [Frame]?
            for _ in 0..<200 where message == nil {
                _ = poller.wait(timeoutMilliseconds: 50)
                message = try? router.receive()
            }
            if let message {
                seen.withLock { $0.frames = message.count; $0.body = try? Wire.decode(message[1]).body }
                var reply = Arbor_V1_StatusReply()
                reply.statusJson = "{}"
                _ = try? router.send([message[0], Wire.encode(.statusReply(reply))])
            }
            done.wait()
            router.close()
        }.start()
        bound.wait()
        let endpoint = seen.withLock { $0.endpoint }
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":0"))
        let client = try DealerClient(context: context, endpoint: endpoint)
        defer {
            client.close()
            done.signal()
        }
        client.send(.statusQuery(Arbor_V1_StatusQuery()))
        let answer = try await client.nextEnvelope(timeout: 10)
        var expected = Arbor_V1_StatusReply()
        expected.statusJson = "{}"
        #expect(answer.body == .statusReply(expected))
        #expect(seen.withLock { $0.frames } == 2)
        #expect(seen.withLock { $0.body } == .statusQuery(Arbor_V1_StatusQuery()))
    }

    @Test func routerReportsUnroutablePeers() throws {
        let context = ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        _ = try router.bind("tcp://127.0.0.1:0")
        #expect(try router.send([Array("nobody".utf8), [1]]) == .unroutable)
        router.close()
    }

    @Test func bindingATakenPortFailsWithTheEndpointNamed() throws {
        let context = ZMQContext()
        let first = try ZMQSocket(context: context, type: .router)
        let endpoint = try first.bind("tcp://127.0.0.1:0")
        let second = try ZMQSocket(context: context, type: .router)
        do {
            try second.bind(endpoint)
            Issue.record("second bind succeeded")
        } catch let error as ProtocolError {
            #expect(error.code == .transport)
            #expect(error.message.contains(endpoint))
        }
        first.close()
        second.close()
    }

    @Test func curveKeysRoundTripThroughZ85() throws {
        let pair = try CurveKey.generate()
        #expect(pair.publicKey.count == 40)
        #expect(try CurveKey.publicKey(forSecret: pair.secretKey) == pair.publicKey)
        let bytes = try CurveKey.decode(pair.publicKey, what: "public key")
        #expect(CurveKey.encode(bytes) == pair.publicKey)
        #expect(throws: ProtocolError.self) { try CurveKey.decode("short", what: "public key") }
    }

    @Test func mailboxWakesAPoller() {
        let mailbox = Mailbox<Int>()
        var poller = Poller()
        let index = poller.add(fileDescriptor: mailbox.fileDescriptor)
        #expect(!poller.wait(timeoutMilliseconds: 0)[index].readable)
        DispatchQueue.global().async { mailbox.post(1); mailbox.post(2) }
        #expect(poller.wait(timeoutMilliseconds: 2000)[index].readable)
        // The poller may wake between the two posts: drain until both have arrived, in order.
        var received = mailbox.drain()
        while received.count < 2 && poller.wait(timeoutMilliseconds: 2000)[index].readable {
            received += mailbox.drain()
        }
        #expect(received == [1, 2])
    }
}
