import Testing

@testable import Coordinator

/// `--http` addresses (issue 7).
struct StatusServerTests {
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("http://0.0.0.0:0/", "0.0.0.0", 0), (":9090", "127.0.0.1", 9090),
    ])
    func parsesAddresses(address: String, host: String, port: Int) throws {
        let parsed = try StatusServer.parse(address)
        #expect(parsed.host == host && parsed.port == port)
    }

    @Test(arguments: ["localhost", "127.0.0.1:http", "127.0.0.1:70000"])
    func rejectsWhatIsNotAnAddress(address: String) {
        #expect(throws: CoordinatorError.self) { try StatusServer.parse(address) }
    }
}
