import ArborProtocol
import Foundation
import Testing

/// The `tools:` section: defaults for missing keys, unknown keys rejected with their path.
struct ToolSettingsTests {
    struct Job: Decodable { var tools: ToolSettings }

    func decode(_ json: String) throws -> ToolSettings {
        try JSONDecoder().decode(Job.self, from: Data(json.utf8)).tools
    }

    @Test("missing keys take the defaults")
    func defaults() throws {
        #expect(try decode(#"{"tools": {}}"#) == ToolSettings())
        let settings = try decode(#"{"tools": {"python": {"timeout_s": 3}, "suspend_after_failures": 2}}"#)
        #expect(settings.python.timeoutSeconds == 3)
        #expect(settings.python.warmPool == PythonToolSettings().warmPool)
        #expect(settings.suspendAfterFailures == 2)
    }

    @Test("unknown keys are rejected with the full key path", arguments: [
        (#"{"tools": {"python": {"timeout": 3}}}"#, "unknown key 'tools.python.timeout'"),
        (#"{"tools": {"pyton": {}}}"#, "unknown key 'tools.pyton'"),
        (#"{"tools": {"mcp_servers": [{"name": "a", "command": ["x"], "cmd": 1}]}}"#,
         "unknown key 'tools.mcp_servers[0].cmd'"),
        (#"{"tools": {"python": {"concurrency": 0}}}"#, "'tools.python.concurrency' is 0"),
    ])
    func rejected(_ json: String, _ message: String) {
        do {
            _ = try decode(json)
            Issue.record("accepted \(json)")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription.hasPrefix(message), "\(context.debugDescription)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
