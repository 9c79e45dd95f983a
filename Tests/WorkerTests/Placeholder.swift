import Testing

@Test func WorkerTestsBuilds() { #expect(Bool(true)) }
