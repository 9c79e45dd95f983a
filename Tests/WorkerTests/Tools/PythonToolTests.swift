import ArborProtocol
import Foundation
import Testing

@testable import Worker

/// The sandbox abuse suite (issue 4): each attack is contained and reported as a tool error while
/// ordinary calls keep being served.
@Suite(.serialized)
struct PythonToolTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func settings() -> PythonToolSettings {
        var settings = PythonToolSettings()
        settings.timeoutSeconds = 3
        settings.cpuSeconds = 2
        settings.memoryMB = 256
        settings.maxProcesses = 16
        settings.maxOutputBytes = 4096
        settings.warmPool = 2
        settings.concurrency = 16
        return settings
    }

    static var bwrapAvailable: Bool { SandboxCommand.lookUp("bwrap", in: ProcessInfo.processInfo.environment["PATH"]) != nil }

    struct Attack: Sendable, CustomStringConvertible {
        let name: String
        let code: String
        /// Text the output must not contain (a leak).
        var mustNotLeak: String? = nil
        var description: String { name }
    }

    static var attacks: [Attack] {
        let project = packageRoot.appendingPathComponent("Package.swift").path
        return [
            Attack(name: "read /etc/shadow", code: "print(open('/etc/shadow').read())", mustNotLeak: "root:"),
            Attack(name: "read a project file", code: "print(open('\(project)').read())", mustNotLeak: "PackageDescription"),
            Attack(name: "list the host home", code: "import os\nprint(os.listdir('/root'))\nprint(os.listdir('/home'))"),
            Attack(name: "write outside tmp", code: "open('/usr/arbor-escape', 'w').write('x')"),
            Attack(name: "open a network connection",
                   code: "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\nprint('connected')",
                   mustNotLeak: "connected"),
            Attack(name: "connect to host loopback",
                   code: "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)\nprint('connected')",
                   mustNotLeak: "connected"),
            Attack(name: "fork bomb", code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
            Attack(name: "memory bomb", code: "blocks = []\nwhile True:\n    blocks.append(bytearray(50 << 20))"),
            Attack(name: "endless loop", code: "while True:\n    pass"),
            Attack(name: "100 MB of output", code: "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * (1 << 20))"),
            Attack(name: "signal the worker", code: "import os, signal\nos.kill(\(getpid()), signal.SIGKILL)"),
            Attack(name: "signal the parent", code: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('sent')",
                   mustNotLeak: "sent"),
            Attack(name: "kill every process in reach", code: "import os, signal\nos.kill(-1, signal.SIGKILL)"),
            Attack(name: "sleep past the timeout", code: "import time\ntime.sleep(60)"),
        ]
    }

    @Test("abuse suite: every attack is contained and reported as a tool error, other calls keep flowing")
    func abuseSuite() async throws {
        try #require(Self.bwrapAvailable, "bubblewrap is not installed; the abuse suite needs it")
        let tool = try PythonTool(settings: Self.settings())
        let executor = ToolExecutor(registry: ToolRegistry([tool]))
        let (attackResults, benign) = await withTaskGroup(of: (String, ToolResult?, [Double]).self) { group in
            for attack in Self.attacks {
                group.addTask {
                    (attack.name, await executor.call(ToolCall(name: "python", arguments: ["code": .string(attack.code)])), [])
                }
            }
            group.addTask {
                var latencies: [Double] = []
                var failures = 0
                for index in 0..<10 {
                    let result = await executor.call(ToolCall(name: "python", arguments: ["code": .string("print(\(index) * 7)")]))
                    if result.output.trimmingCharacters(in: .whitespacesAndNewlines) != String(index * 7) { failures += 1 }
                    latencies.append(result.seconds)
                }
                return ("benign", nil, failures == 0 ? latencies : [])
            }
            var attackResults: [String: ToolResult] = [:]
            var benign: [Double] = []
            for await (name, result, latencies) in group {
                if let result { attackResults[name] = result } else { benign = latencies }
            }
            return (attackResults, benign)
        }
        for attack in Self.attacks {
            if ProcessInfo.processInfo.environment["ARBOR_SHOW_ABUSE"] != nil {
                print("[\(attack.name)] \(attackResults[attack.name]?.responseText.prefix(300) ?? "")")
            }
            guard let result = attackResults[attack.name] else {
                Issue.record("no result for \(attack.name)")
                continue
            }
            #expect(result.error != nil, "\(attack.name) was not reported as an error: \(String(result.output.prefix(200)))")
            if let leak = attack.mustNotLeak {
                #expect(!result.responseText.contains(leak), "\(attack.name) leaked: \(String(result.responseText.prefix(200)))")
            }
            // Containment, not speed: a runaway call must be ended by its limits, however busy the
            // machine is (the timeout is a few seconds; never killing it would exceed this bound).
            #expect(result.seconds < 30, "\(attack.name) ran \(result.seconds) s: not contained")
        }
        #expect(attackResults["sleep past the timeout"]?.error?.code == .timeout)
        #expect(attackResults["100 MB of output"]?.error?.code == .limitExceeded)
        #expect((attackResults["100 MB of output"]?.responseText.utf8.count ?? .max) < 8192)
        #expect(!FileManager.default.fileExists(atPath: "/usr/arbor-escape"))
        #expect(benign.count == 10, "benign calls failed while the attacks ran")
        // The worker (this process) is alive and the sandbox still serves.
        let after = await executor.call(ToolCall(name: "python", arguments: ["code": "print('still here')"]))
        #expect(after.output == "still here\n")
    }

    @Test("a normal program's output, a failing program's traceback, truncation marker")
    func ordinaryRuns() async throws {
        try #require(Self.bwrapAvailable, "bubblewrap is not installed")
        var settings = Self.settings()
        settings.maxOutputBytes = 100
        let tool = try PythonTool(settings: settings)
        let sum = try await tool.run(arguments: ["code": "print(sum(range(101)))"])
        #expect(sum == "5050\n")
        let tmp = try await tool.run(arguments: ["code": "open('/tmp/a', 'w').write('hi')\nprint(open('/tmp/a').read())"])
        #expect(tmp == "hi\n")
        let long = try await tool.run(arguments: ["code": "print('y' * 1000)"])
        #expect(long.hasPrefix(String(repeating: "y", count: 75) + "\n…[output truncated: showed 100 of 1001 bytes]…\n"))
        #expect(long.hasSuffix(String(repeating: "y", count: 24) + "\n"))
        await #expect(throws: ToolError.self) { try await tool.run(arguments: ["code": "1/0"]) }
        do {
            _ = try await tool.run(arguments: ["code": "def f():\n    raise ValueError('boom')\nf()"])
        } catch let error as ToolError {
            #expect(error.code == .toolFailed)
            #expect(error.message.contains("ValueError: boom"))
            #expect(!error.message.contains("compile(source"), "launcher frames leaked into the traceback")
        }
    }

    @Test("state does not leak between calls: each call is a fresh process")
    func freshProcessPerCall() async throws {
        try #require(Self.bwrapAvailable, "bubblewrap is not installed")
        let tool = try PythonTool(settings: Self.settings())
        _ = try await tool.run(arguments: ["code": "open('/tmp/state', 'w').write('1')"])
        let second = try await tool.run(arguments: ["code": "import os\nprint(os.path.exists('/tmp/state'))"])
        #expect(second == "False\n")
    }

    @Test("without bwrap on PATH the python tool refuses unless allow_unsandboxed")
    func refusesWithoutBubblewrap() async throws {
        #expect(throws: ToolError.self) { try PythonTool(settings: Self.settings(), searchPath: "/nonexistent") }
        do {
            _ = try PythonTool(settings: Self.settings(), searchPath: "/nonexistent")
        } catch let error as ToolError {
            #expect(error.code == .sandboxUnavailable)
            #expect(error.message.contains("allow_unsandboxed"))
        }
        var settings = Self.settings()
        settings.allowUnsandboxed = true
        let tool = try PythonTool(settings: settings, searchPath: "/nonexistent")
        #expect(!tool.isSandboxed)
        #expect(try await tool.run(arguments: ["code": "print(6 * 7)"]) == "42\n")
    }
}
