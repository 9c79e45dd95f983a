import Testing

@Test func ArborCLITestsBuilds() { #expect(Bool(true)) }
