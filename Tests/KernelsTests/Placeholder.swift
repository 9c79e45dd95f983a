import Testing

@Test func KernelsTestsBuilds() { #expect(Bool(true)) }
