import CZMQ

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// Thread-safe (libzmq contexts are). Create one per process and keep it alive for as long as any
/// of its sockets; `terminate()` blocks until every socket is closed.
public final class ZMQContext: @unchecked Sendable {
    /// The raw `void *` handle; only sockets created from this context use it.
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads (1 is plenty below ~1 GB/s).
    public init(ioThreads: Int32 = 1) {
        // zmq_ctx_new only fails when the process is out of file descriptors or memory: our own
        // broken environment, not bad input, so a crash with the reason is the honest answer.
        guard let handle = zmq_ctx_new() else {
            preconditionFailure("zmq_ctx_new failed: \(ZMQContext.lastError())")
        }
        zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
        // Enough sockets for a coordinator with many control clients and tests in one process.
        zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, 4096)
        self.handle = handle
    }

    deinit {
        zmq_ctx_term(handle)
    }

    /// libzmq's message for the calling thread's last error.
    static func lastError() -> String {
        String(cString: zmq_strerror(zmq_errno()))
    }

    /// The libzmq version as "major.minor.patch".
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether this libzmq was built with CURVE security.
    public static var hasCurve: Bool { zmq_has("curve") == 1 }
}
