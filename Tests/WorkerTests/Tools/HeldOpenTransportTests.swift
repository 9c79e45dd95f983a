import Foundation
import Testing

@testable import Worker

/// The MCP client's read loop waits, rather than spins, once its server is gone. swift-sdk's
/// `Client` asks the transport for its stream again each time the stream ends, so a finished
/// stream turned a dead server into a busy loop on the cooperative pool, which once hung the
/// whole unit-test run on two cores.
struct HeldOpenTransportTests {
    @Test func theStreamOutlivesTheServersEndOfFileAndEndsOnDisconnect() async throws {
        let fromServer = Pipe(), toServer = Pipe()
        let transport = HeldOpenTransport(reading: fromServer.fileHandleForReading, writing: toServer.fileHandleForWriting)
        try await transport.connect()
        let received = Received()
        let reader = Task {
            for try await message in await transport.receive() { received.append(message) }
            received.end()
        }
        // The "server" says one line, then exits: its end of the pipe closes.
        fromServer.fileHandleForWriting.write(Data("{\"jsonrpc\":\"2.0\"}\n".utf8))
        try fromServer.fileHandleForWriting.close()
        #expect(await received.waitFor(count: 1, seconds: 30), "the line before the end of file arrives")
        // The stream is still open well after the end of file has been read.
        try await Task.sleep(for: .milliseconds(300))
        #expect(!received.ended, "the stream ended with the server; the client's loop would spin")

        await transport.disconnect()
        try await reader.value
        #expect(received.ended)
        #expect(received.messages == [Data("{\"jsonrpc\":\"2.0\"}".utf8)])
    }
}

/// Messages a reader task collects, read from the test.
private final class Received: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [Data] = []
    private var finished = false

    func append(_ message: Data) { lock.withLock { collected.append(message) } }
    func end() { lock.withLock { finished = true } }
    var messages: [Data] { lock.withLock { collected } }
    var ended: Bool { lock.withLock { finished } }

    func waitFor(count: Int, seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while messages.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return messages.count >= count
    }
}
