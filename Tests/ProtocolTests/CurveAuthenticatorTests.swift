import ArborProtocol
import Foundation
import Synchronization
import Testing

/// The ZAP handler over real CURVE sockets on loopback (issue 6, part 4): listed keys are
/// admitted, unknown keys and plain-TCP peers never reach the server socket.
struct CurveAuthenticatorTests {
    /// A CURVE ROUTER with its authenticator, owned by the (synchronous) test's thread.
    final class Server {
        let context = ZMQContext()
        let keys: CurveKeyPair
        let authenticator: CurveAuthenticator
        let router: ZMQSocket
        let endpoint: String
        let refusals = RefusalLog()

        init(authorized: [String]) throws {
            keys = try CurveKey.generate()
            let refusals = self.refusals
            authenticator = try CurveAuthenticator(context: context, authorizedKeys: authorized) { refusal in
                refusals.entries.withLock { $0.append(refusal) }
            }
            var options = ZMQSocketOptions()
            options.curve = .server(secretKey: keys.secretKey)
            router = try ZMQSocket(context: context, type: .router, options: options)
            endpoint = try router.bind("tcp://127.0.0.1:0")
        }

        /// A DEALER presenting `pair` (nil: plain TCP, no CURVE at all).
        func client(_ pair: CurveKeyPair?) throws -> DealerClient {
            var options = ZMQSocketOptions()
            if let pair {
                options.curve = .client(
                    publicKey: pair.publicKey, secretKey: pair.secretKey, serverPublicKey: keys.publicKey)
            }
            return try DealerClient(context: context, endpoint: endpoint, options: options)
        }

        /// The next message the server receives within `timeout` seconds.
        func receive(timeout: Double) throws -> [Frame]? {
            var poller = Poller()
            _ = poller.add(router)
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                _ = poller.wait(timeoutMilliseconds: 50)
                if let message = try router.receive() { return message }
            }
            return nil
        }

        func close() {
            router.close()
            authenticator.stop()
        }
    }

    /// The refusals the authenticator reported, collected across threads.
    final class RefusalLog: Sendable {
        let entries = Mutex<[CurveAuthenticator.Refusal]>([])
    }

    /// Waits until `condition` holds or `timeout` seconds pass.
    func eventually(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && !condition() { Thread.sleep(forTimeInterval: 0.02) }
        return condition()
    }

    @Test func listedKeyIsAdmittedAndItsMessagesArrive() throws {
        let worker = try CurveKey.generate()
        let server = try Server(authorized: [worker.publicKey])
        defer { server.close() }
        let client = try server.client(worker)
        defer { client.close() }
        client.send(.statusQuery(Arbor_V1_StatusQuery()))
        let frames = try #require(try server.receive(timeout: 10))
        #expect(try Wire.decode(frames[1]).body == .statusQuery(Arbor_V1_StatusQuery()))
        #expect(server.authenticator.admissions == 1)
        #expect(server.authenticator.refusals == 0)
    }

    @Test func unknownKeyIsRefusedLoggedWithItsZ85AndCounted() throws {
        let listed = try CurveKey.generate()
        let stranger = try CurveKey.generate()
        let server = try Server(authorized: [listed.publicKey])
        defer { server.close() }
        let client = try server.client(stranger)
        defer { client.close() }
        client.send(.statusQuery(Arbor_V1_StatusQuery()))
        #expect(try server.receive(timeout: 1.5) == nil, "an unknown key's message reached the server")
        #expect(eventually(5) { server.authenticator.refusals >= 1 })
        #expect(server.authenticator.admissions == 0)
        let first = try #require(server.refusals.entries.withLock { $0.first })
        #expect(first.publicKey == stranger.publicKey)
        #expect(first.mechanism == "CURVE")
        #expect(first.description.contains(stranger.publicKey))
        #expect(first.address.hasPrefix("127.0.0.1"))
    }

    @Test func plainTCPPeerCannotTalkToACurveServer() throws {
        let server = try Server(authorized: [try CurveKey.generate().publicKey])
        defer { server.close() }
        let client = try server.client(nil)
        defer { client.close() }
        client.send(.statusQuery(Arbor_V1_StatusQuery()))
        #expect(try server.receive(timeout: 1.5) == nil, "a plain-TCP message reached the CURVE server")
        // The mechanisms differ, so the handshake fails before any ZAP request: nothing admitted.
        #expect(server.authenticator.admissions == 0)
    }

    @Test func wrongServerKeyNeverConnects() throws {
        let worker = try CurveKey.generate()
        let server = try Server(authorized: [worker.publicKey])
        defer { server.close() }
        var options = ZMQSocketOptions()
        options.curve = .client(
            publicKey: worker.publicKey, secretKey: worker.secretKey, serverPublicKey: try CurveKey.generate().publicKey)
        let client = try DealerClient(context: server.context, endpoint: server.endpoint, options: options)
        defer { client.close() }
        client.send(.statusQuery(Arbor_V1_StatusQuery()))
        #expect(try server.receive(timeout: 1.5) == nil)
        #expect(server.authenticator.admissions == 0)
    }

    @Test func secondHandlerInTheSameContextIsRefused() throws {
        let context = ZMQContext()
        let first = try CurveAuthenticator(context: context, authorizedKeys: [])
        defer { first.stop() }
        #expect {
            _ = try CurveAuthenticator(context: context, authorizedKeys: [])
        } throws: { error in
            (error as? ProtocolError)?.code == .transport
        }
    }

    @Test func malformedAuthorizedKeyIsABadKeyNamingItsPosition() throws {
        let context = ZMQContext()
        let good = try CurveKey.generate().publicKey
        #expect {
            _ = try CurveAuthenticator(context: context, authorizedKeys: [good, "not-a-key"])
        } throws: { error in
            guard let error = error as? ProtocolError else { return false }
            return error.code == .badKey && error.message.contains("authorized key 2")
        }
    }

    @Test func stopIsIdempotent() throws {
        let context = ZMQContext()
        let authenticator = try CurveAuthenticator(context: context, authorizedKeys: [])
        authenticator.stop()
        authenticator.stop()  // returns: a second stop neither hangs nor traps
        // The endpoint is free again: a new handler can bind it (while one runs, binding throws:
        // secondHandlerInTheSameContextIsRefused).
        #expect(throws: Never.self) {
            let next = try CurveAuthenticator(context: context, authorizedKeys: [])
            next.stop()
        }
    }
}
