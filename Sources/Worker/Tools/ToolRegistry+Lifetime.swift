import Foundation

extension ToolRegistry {
    /// Ends every process the tools started: the python tool's warm sandboxes (after the refills
    /// in flight) and the MCP servers. Blocks for up to a few seconds; thread-safe. The registry's
    /// tools fail their calls afterwards.
    public func shutDown() {
        for tool in tools {
            if let python = tool as? PythonTool { python.pool.shutDown() }
            if let served = tool as? MCPTool { served.server.stop() }
        }
    }
}

extension PythonTool {
    /// Kills every sandbox this process started and still holds (waiting in a pool, running, or
    /// being reaped), waits up to `timeout` seconds for them to end, and refuses new ones. For a
    /// process about to exit (`arbor tool call`, a worker after draining). Thread-safe.
    public static func tearDownSandboxes(timeout: Double = 5) {
        SandboxSpawner.shared.tearDown(timeout: timeout)
    }
}
