import ArborProtocol
import Testing
@testable import Worker

/// The load-testing backend grows valid PORTool trees, deterministically.
struct ScriptedBackendTests {
    func request(seed: UInt64, trajectories: UInt32 = 6, branching: UInt32 = 3, maxToolSteps: UInt32 = 3) -> RolloutRequest {
        var request = RolloutRequest()
        request.requestID = "b000001-00"
        request.task.taskID = "math-0001"
        request.task.prompt = "What is 6*7?"
        request.task.answer = "42"
        request.spec.trajectories = trajectories
        request.spec.branching = branching
        request.spec.maxToolSteps = maxToolSteps
        request.spec.seed = seed
        return request
    }

    @Test(arguments: [0, 1, 2, 3, 99] as [UInt64])
    func treesHaveExactlyNTrajectoriesAndNoDeadEnds(seed: UInt64) throws {
        let result = try ScriptedBackend().rollout(request(seed: seed), cancellation: CancellationFlag())
        let nodes = result.tree.nodes
        #expect(nodes[0].parent == -1)
        let leaves = nodes.filter(\.isLeaf)
        #expect(leaves.count == 6, "n trajectories end in n leaves")
        var childCount = Array(repeating: 0, count: nodes.count)
        for node in nodes.dropFirst() {
            #expect(node.parent >= 0 && Int(node.parent) < Int(node.id), "parents come first")
            childCount[Int(node.parent)] += 1
        }
        for node in nodes.dropFirst() where !node.isLeaf {
            #expect(childCount[Int(node.id)] > 0, "step \(node.id) is a dead end")
        }
        // Depth is bounded by T_max tool steps plus the answering step.
        func depth(_ id: Int) -> Int { id == 0 ? 0 : 1 + depth(Int(nodes[id].parent)) }
        #expect(leaves.allSatisfy { depth(Int($0.id)) <= 4 })
    }

    @Test func sameSeedSameTree() throws {
        let first = try ScriptedBackend().rollout(request(seed: 5), cancellation: CancellationFlag())
        let second = try ScriptedBackend().rollout(request(seed: 5), cancellation: CancellationFlag())
        let other = try ScriptedBackend().rollout(request(seed: 6), cancellation: CancellationFlag())
        #expect(first.tree == second.tree)
        #expect(first.tree != other.tree)
    }

    @Test func cancelledRequestsStop() {
        let flag = CancellationFlag()
        flag.cancel()
        #expect(throws: WorkerError.self) { try ScriptedBackend().rollout(request(seed: 1), cancellation: flag) }
    }

    @Test func scheduleKeepsNMinusFinishedCandidatesUniformly() {
        let schedule = PORToolSchedule(trajectories: 8, branching: 2, maxToolSteps: 4)
        var rng = SplitMix64(seed: 1)
        var picked = Array(repeating: 0, count: 10)
        for _ in 0..<2000 {
            let kept = schedule.keep(candidateCount: 10, finished: 3, using: &rng)
            #expect(kept.count == 5)
            #expect(Set(kept).count == 5)
            for index in kept { picked[index] += 1 }
        }
        // Each candidate is kept about half the time (5 of 10).
        #expect(picked.allSatisfy { $0 > 850 && $0 < 1150 }, "\(picked)")
        #expect(schedule.keep(candidateCount: 3, finished: 2, using: &rng) == [0, 1, 2])
    }
}
