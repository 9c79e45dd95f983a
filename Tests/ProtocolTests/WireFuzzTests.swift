import ArborProtocol
import Foundation
import Testing
import TestSupport

/// Protocol fuzzing (issue 6, part 6): mutated frames of every message type fed to
/// `Wire.decode`. Each input must either decode to a valid envelope (version 1, a body, and a
/// stable re-encoding) or be rejected with a `ProtocolError` carrying a reason; nothing crashes.
struct WireFuzzTests {
    /// Valid frames of every message type, plus a few sequence numbers, as mutation seeds.
    static func seedFrames() -> [Frame] {
        WireTests.sampleBodies().enumerated().map { index, body in
            Wire.encode(body, sequence: UInt64(index) * 1_000_003)
        }
    }

    /// What a run of the loop saw.
    struct Tally: CustomStringConvertible {
        var decoded = 0
        var rejected: [ProtocolError.Code: Int] = [:]
        var byMutation: [FrameMutator.Mutation: Int] = [:]
        var failures: [String] = []

        var description: String {
            let codes = rejected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
            return "decoded \(decoded), rejected \(rejected.values.reduce(0, +)) (\(codes.joined(separator: ", ")))"
        }
    }

    /// Runs `count` mutated inputs from `seed` through the decoder.
    static func fuzz(count: Int, seed: UInt64) -> Tally {
        var mutator = FrameMutator(seeds: seedFrames(), seed: seed)
        var tally = Tally()
        for index in 0..<count {
            let (frame, mutation) = mutator.nextInput()
            tally.byMutation[mutation, default: 0] += 1
            func fail(_ why: String) {
                if tally.failures.count < 5 {
                    tally.failures.append("input \(index) (\(mutation.rawValue), seed \(seed)): \(why); bytes \(frame)")
                }
            }
            do {
                let envelope = try Wire.decode(frame)
                tally.decoded += 1
                if envelope.protocolVersion != Wire.protocolVersion || envelope.body == nil {
                    fail("decoded without version 1 and a body")
                }
                // What decodes must re-encode to something that decodes to the same envelope
                // (compared as bytes: a mutated float may be NaN, which is never == itself).
                let bytes: [UInt8] = try envelope.serializedBytes()
                let again: [UInt8] = try Wire.decode(bytes).serializedBytes()
                if again != bytes { fail("re-encoding changed the envelope") }
            } catch let error as ProtocolError {
                tally.rejected[error.code, default: 0] += 1
                if error.message.isEmpty { fail("rejected without a reason") }
                if ![.badFrame, .unsupportedVersion, .unexpectedMessage].contains(error.code) {
                    fail("rejected with code \(error.code)")
                }
            } catch {
                fail("threw \(type(of: error)), not a ProtocolError: \(error)")
            }
        }
        return tally
    }

    @Test func twentyThousandMutatedFramesDecodeOrAreRejectedWithAReason() {
        let started = Date()
        let tally = Self.fuzz(count: 20_000, seed: 0xA4B0_2026)
        let seconds = Date().timeIntervalSince(started)
        print("wire fuzz: 20000 inputs in \(String(format: "%.2f", seconds)) s: \(tally)")
        #expect(tally.failures.isEmpty, "\(tally.failures.joined(separator: "\n"))")
        #expect(tally.decoded + tally.rejected.values.reduce(0, +) == 20_000)
        // The loop really exercises both outcomes and every rejection path.
        #expect(tally.decoded > 0)
        #expect(tally.rejected[.badFrame, default: 0] > 0)
        #expect(tally.rejected[.unsupportedVersion, default: 0] > 0)
        #expect(tally.byMutation.count == FrameMutator.Mutation.allCases.count)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func otherSeedsHoldTheSameProperty(seed: UInt64) {
        let tally = Self.fuzz(count: 3_000, seed: seed)
        #expect(tally.failures.isEmpty, "\(tally.failures.joined(separator: "\n"))")
    }

    @Test func sameSeedGivesTheSameInputs() {
        var first = FrameMutator(seeds: Self.seedFrames(), seed: 99)
        var second = FrameMutator(seeds: Self.seedFrames(), seed: 99)
        for _ in 0..<200 {
            #expect(first.nextInput().frame == second.nextInput().frame)
        }
    }

    @Test func everyMessageTypeIsASeed() throws {
        let names = Set(try Self.seedFrames().map { try Wire.decode($0).body?.name ?? "" })
        #expect(names.count == WireTests.sampleBodies().count)
        #expect(names.contains("rollout_result"))
        #expect(names.contains("register"))
    }
}
