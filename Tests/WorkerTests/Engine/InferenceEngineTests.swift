import Foundation
import Kernels
import Testing

@testable import Worker

/// The engine against Tests/Fixtures/smollm2/smollm2-reference.json. They need the model file
/// and are meant for release builds (`swift test -c release --filter InferenceEngine`).
@Suite("InferenceEngine", .serialized)
struct InferenceEngineTests {
    /// The parameterised reference test runs one case per entry; this one fails when there are none.
    @Test("the fixture holds the four reference forward passes")
    func fixtureHoldsAllPasses() throws {
        #expect(try ReferenceLogits.load().map(\.name).sorted() == ["chat", "code", "plain", "tool"])
    }

    /// One product route forced for a whole test (`WeightProduct`): every product through sgemm,
    /// through the block kernels, or through the panel kernels (a path without panel kernels runs
    /// the block kernels there).
    enum ProductRoute: String, CaseIterable, Sendable {
        case sgemm, blocks, panels

        func apply(to options: inout EngineOptions) {
            options.quantizedRowLimit = self == .sgemm ? 0 : options.maxBatchRows
            options.blockRowLimit = self == .panels ? 0 : options.maxBatchRows
        }
    }

    static let productPaths = ProductRoute.allCases

    @Test("logits match the float32 reference: argmax everywhere, top-20 and log-sum-exp at the end",
        arguments: try ReferenceLogits.load(), productPaths)
    func matchesReference(entry: ReferenceLogits, route: ProductRoute) throws {
        let model = try SharedModel.require()
        var options = EngineOptions()
        route.apply(to: &options)
        let engine = InferenceEngine(model: model, options: options)
        let logits = try engine.logitsAtEveryPosition(entry.ids)
        #expect(logits.count == entry.ids.count)
        let argmax = logits.map { row in row.indices.max { row[$0] < row[$1] || row[$0] == row[$1] && $0 > $1 }! }
        #expect(argmax == entry.f32_argmax)
        let last = try #require(logits.last)
        for pair in entry.f32_top20_last {
            let id = Int(pair[0])
            #expect(abs(Double(last[id]) - pair[1]) <= 0.05, "token \(id): \(last[id]) vs \(pair[1])")
        }
        let top20 = last.indices.sorted { last[$0] > last[$1] }.prefix(20)
        #expect(Set(top20) == Set(entry.f32_top20_last.map { Int($0[0]) }))
        let lse = last.withUnsafeBufferPointer { Softmax.logSumExp($0.baseAddress!, count: $0.count) }
        #expect(abs(Double(lse) - entry.f32_logsumexp_last) <= 0.05)
    }

    /// One product path per run: the fork logic is what is compared here, not the ~3e-3 between
    /// the quantised kernels (small steps) and sgemm (the long prefill from scratch).
    @Test("forked branches decode exactly as the same tokens run from scratch", arguments: productPaths)
    func forkEqualsUnforked(route: ProductRoute) throws {
        let model = try SharedModel.require()
        let entry = try ReferenceLogits.named("tool")
        var options = EngineOptions()
        options.blockSize = 16
        route.apply(to: &options)
        let engine = InferenceEngine(model: model, options: options)
        let prompt = Array(entry.ids.prefix(41))  // ends inside a block, so branches copy it on write
        let root = try engine.createSequence(prompt: prompt)
        let rootLogits = try engine.nextLogits(root)
        let branches = try (0..<3).map { _ in try engine.fork(root) }
        #expect(engine.cacheBlocksInUse == 3)  // 41 tokens in 16-token blocks, shared by all four
        var generator = SeededRandom(seed: 7)
        var sampled = [[Int]](repeating: [], count: branches.count)
        for _ in 0..<20 {
            let tokens = try engine.step(branches, sampling: SamplingParameters(temperature: 1.2), using: &generator)
            for (i, token) in tokens.enumerated() {
                sampled[i].append(token.id)
                #expect(token.logProb <= 0 && token.entropy >= 0)
            }
        }
        try engine.append(branches[0], tokens: [198, 2683, 359])  // a non-sampled continuation
        #expect(try engine.nextLogits(root) == rootLogits)
        for (i, branch) in branches.enumerated() {
            let forked = try engine.nextLogits(branch)
            let all = try #require(engine.tokens(of: branch))
            #expect(all == prompt + sampled[i] + (i == 0 ? [198, 2683, 359] : []))
            let fresh = try engine.createSequence(prompt: all)
            let scratch = try engine.nextLogits(fresh)
            engine.release(fresh)
            let difference = zip(forked, scratch).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            #expect(difference < 2e-3, "branch \(i): max |Δlogit| \(difference)")
        }
        for branch in branches { engine.release(branch) }
        engine.release(root)
        #expect(engine.cacheBlocksInUse == 0)
    }

    @Test("greedy decoding is deterministic and matches the reference argmax continuation")
    func greedyStep() throws {
        let model = try SharedModel.require()
        let entry = try ReferenceLogits.named("plain")
        let engine = InferenceEngine(model: model)
        let sequence = try engine.createSequence(prompt: entry.ids)
        var generator = SeededRandom(seed: 1)
        let token = try engine.step([sequence], sampling: .greedy, using: &generator)
        #expect(token.map(\.id) == [entry.f32_argmax.last!])
    }

    @Test("bad input is an error, not a crash")
    func badInput() throws {
        let model = try SharedModel.require()
        let engine = InferenceEngine(model: model)
        #expect(throws: WorkerError.self) { try engine.createSequence(prompt: []) }
        #expect(throws: WorkerError.self) { try engine.createSequence(prompt: [49152]) }
        let s = try engine.createSequence(prompt: [1, 2])
        var generator = SeededRandom(seed: 1)
        #expect(throws: WorkerError.self) { try engine.step([s, s], sampling: .greedy, using: &generator) }
        engine.release(s)
        #expect(throws: WorkerError.self) { try engine.step([s], sampling: .greedy, using: &generator) }
        #expect(engine.cacheBlocksInUse == 0)
    }

    @Test("a worker with the model loaded stays under 1 GiB resident")
    func residentMemory() throws {
        let model = try SharedModel.require()
        let engine = InferenceEngine(model: model)
        let root = try engine.createSequence(prompt: Array(repeating: 504, count: 300))
        let branches = try (0..<32).map { _ in try engine.fork(root) }
        var generator = SeededRandom(seed: 3)
        for _ in 0..<8 { _ = try engine.step(branches, sampling: SamplingParameters(), using: &generator) }
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(separator: " ")[1]))
        #expect(kilobytes < 1 << 20, "VmRSS \(kilobytes) kB")
    }
}

@Suite("InferenceEngine generation", .serialized)
struct InferenceEngineGenerationTests {
    @Test("generate runs branches together until each stops, then tool tokens append")
    func generateAndAppend() throws {
        let model = try SharedModel.require()
        let entry = try ReferenceLogits.named("chat")
        let engine = InferenceEngine(model: model)
        let root = try engine.createSequence(prompt: entry.ids)
        let branches = try (0..<4).map { _ in try engine.fork(root) }
        var generator = SeededRandom(seed: 11)
        let stop = StopCriteria(maxTokens: 12, tokenIDs: [2])
        let steps = try engine.generate(branches, sampling: SamplingParameters(temperature: 1, topP: 0.95), stop: stop, using: &generator)
        for (branch, step) in zip(branches, steps) {
            #expect(!step.tokens.isEmpty && step.tokens.count <= 12)
            #expect(step.finish == .maxTokens ? step.tokens.count == 12 : step.ids.last == 2)
            #expect(engine.tokens(of: branch) == entry.ids + step.ids)
        }
        try engine.append(branches[0], tokens: [198, 1, 4093])
        #expect(engine.tokens(of: branches[0]) == entry.ids + steps[0].ids + [198, 1, 4093])
        var replay = SeededRandom(seed: 11)
        let again = try (0..<4).map { _ in try engine.fork(root) }
        let second = try engine.generate(again, sampling: SamplingParameters(temperature: 1, topP: 0.95), stop: stop, using: &replay)
        #expect(second.map(\.ids) == steps.map(\.ids))
    }
}

/// Continuous batching (issue 15): a deferred prompt runs inside the decode step of the sequences
/// already running, and its forks decode as they would after an eager prefill.
@Suite("InferenceEngine continuous batching", .serialized)
struct InferenceEngineContinuousBatchingTests {
    @Test("a deferred prompt joins the running decode batch, across passes when it is long")
    func deferredPromptJoinsTheDecodeStep() throws {
        let model = try SharedModel.require()
        var options = EngineOptions()
        options.maxBatchRows = 16  // the 41-token prompt spans three passes, the first beside the decode row
        let engine = InferenceEngine(model: model, options: options)
        let running = try engine.createSequence(prompt: Array(try ReferenceLogits.named("plain").ids.prefix(20)))
        var generator = SeededRandom(seed: 5)
        _ = try engine.step([running], sampling: .greedy, using: &generator)  // its token is now pending
        let prompt = Array(try ReferenceLogits.named("tool").ids.prefix(41))
        let newcomer = try engine.createSequence(deferring: prompt)
        let forks = try (0..<2).map { _ in try engine.fork(newcomer) }
        engine.release(newcomer)  // the forks keep what they wait for
        #expect(engine.liveSequences == 3)
        #expect(engine.tokens(of: forks[1]) == prompt)
        let before = engine.statistics
        let joined = try engine.step([running] + forks, sampling: .greedy, using: &generator)
        let after = engine.statistics
        #expect(after.passes - before.passes == 3)  // 1 + 15, 16, 10 rows
        #expect(after.mixedPasses - before.mixedPasses == 1)
        #expect(after.decodeRows - before.decodeRows == 1)
        #expect(after.prefillRows - before.prefillRows == prompt.count)

        let eager = try engine.createSequence(prompt: prompt)
        let alone = try engine.step([eager], sampling: .greedy, using: &generator)
        for token in joined.dropFirst() {
            #expect(token.id == alone[0].id)
            #expect(abs(token.logProb - alone[0].logProb) < 1e-3, "\(token.logProb) vs \(alone[0].logProb)")
        }
        #expect(engine.tokens(of: forks[0]) == prompt + [alone[0].id])
        for id in [running, eager] + forks { engine.release(id) }
        #expect(engine.liveSequences == 0)
        #expect(engine.cacheBlocksInUse == 0)
    }

    @Test("a deferred tool response runs with the next step, and a fork waiting on it can be released")
    func deferredAppendAndAbandonedFollower() throws {
        let model = try SharedModel.require()
        let engine = InferenceEngine(model: model)
        let prompt = try ReferenceLogits.named("chat").ids
        let a = try engine.createSequence(prompt: prompt)
        let b = try engine.fork(a)
        var generator = SeededRandom(seed: 9)
        _ = try engine.step([a, b], sampling: SamplingParameters(temperature: 1), using: &generator)
        try engine.append(a, deferring: [198, 2683, 359])
        let waiting = try engine.fork(a)
        engine.release(waiting)  // dropped before it ever ran: holds nothing
        let before = engine.statistics
        _ = try engine.step([a, b], sampling: SamplingParameters(temperature: 1), using: &generator)
        let after = engine.statistics
        #expect(after.passes - before.passes == 1)
        #expect(after.mixedPasses - before.mixedPasses == 1)
        #expect(after.prefillRows - before.prefillRows == 4)  // its sampled token and the three appended
        let all = try #require(engine.tokens(of: a))
        #expect(Array(all[prompt.count...].suffix(4).prefix(3)) == [198, 2683, 359])
        let joinedLogits = try engine.nextLogits(a)
        let fresh = try engine.createSequence(prompt: all)
        let difference = zip(joinedLogits, try engine.nextLogits(fresh)).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(difference < 2e-3, "max |Δlogit| \(difference)")
        for id in [a, b, fresh] { engine.release(id) }
        #expect(engine.cacheBlocksInUse == 0)
    }
}
