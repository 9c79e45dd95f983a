import Foundation
import Logging
import MCP
import SystemPackage

/// A transport whose stream of messages stays open after the server's end of file, until
/// `disconnect`.
///
/// swift-sdk's `Client` reads `receive()` in a `repeat … while true` loop. When a server exits,
/// the stdio transport finishes its stream, and every later turn of that loop gets the same
/// finished stream back and returns at once: the loop spins on a thread of the cooperative pool
/// until someone calls `disconnect`. On a two-core machine the pool has two threads, so the spin
/// can starve the very task that would disconnect it, and the process hangs.
///
/// Here the client's loop waits instead. A dead server is noticed from its process
/// (`MCPServerConnection.start`'s `onExit`), and the supervisor disconnects it; that ends the
/// stream and fails the calls still waiting for an answer.
actor HeldOpenTransport: Transport {
    private let inner: StdioTransport
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var pump: Task<Void, Never>?

    nonisolated let logger: Logger

    /// A stdio transport that reads the server's messages from `reading` and writes to `writing`.
    init(reading: FileHandle, writing: FileHandle) {
        inner = StdioTransport(
            input: FileDescriptor(rawValue: reading.fileDescriptor),
            output: FileDescriptor(rawValue: writing.fileDescriptor))
        logger = inner.logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        try await inner.connect()
        let source = await inner.receive()
        pump = Task { [continuation] in
            do {
                for try await message in source { continuation.yield(message) }
            } catch {
                // A read error ends the server's stream as its exit does; the stream stays open
                // until `disconnect` either way.
            }
        }
    }

    func disconnect() async {
        pump?.cancel()
        await inner.disconnect()
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        try await inner.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }
}
