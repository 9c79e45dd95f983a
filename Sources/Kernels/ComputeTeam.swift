import CKernels
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fixed team of threads that share one piece of work at a time: `run(parts:)` hands out parts
/// to the calling thread and the team's helpers until none is left, and returns when all are done.
///
/// A decode step meets the team ~150 times per token (every weight product and each layer's
/// attention), microseconds apart. Waking a sleeping thread for each meeting (Dispatch's
/// `concurrentPerform`) cost ~15% of a batch-of-one decode in the scheduler, so helpers spin on the
/// work counter for a while after each job (like llama.cpp's thread pool) and only then sleep on
/// a condition variable. Not reentrant: one `run` at a time, from one thread.
public final class ComputeTeam: @unchecked Sendable {
    /// Threads that work on each job, the caller included.
    public let size: Int
    /// How long an idle helper spins before it sleeps: longer than the gaps inside a forward pass,
    /// short enough that an idle engine does not hold a core.
    public static let spinNanoseconds: UInt64 = 200_000

    // A job is published by bumping `generation` (release); helpers read `job` and `partCount`
    // after seeing it (acquire), take parts from `nextPart`, then count themselves in `helpersDone`.
    // The caller returns only when every helper has checked in, so none still holds the job.
    private let generation = Atomic<Int>(0)
    private let nextPart = Atomic<Int>(0)
    private let helpersDone = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private var job: ((Int) -> Void)?
    private var partCount = 0
    private var stopping = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var helpers: [pthread_t] = []

    /// A team of `threads` threads (at least 1): the caller of `run` and `threads − 1` helpers,
    /// started now and stopped when the team is released.
    public init(threads: Int) {
        size = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 1..<size {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            let created = pthread_create(&thread, nil, { context in
                Unmanaged<ComputeTeam>.fromOpaque(context!).takeUnretainedValue().helperLoop()
                return nil
            }, context)
            precondition(created == 0, "ComputeTeam could not start a thread (error \(created))")
            helpers.append(thread)
        }
    }

    deinit {
        stopping = true
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in helpers { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    /// Runs `body(0)`, …, `body(parts − 1)`, each once, spread over the team's threads; returns when
    /// all have finished. Parts must not depend on one another's order or thread, and should not
    /// allocate: a helper's first malloc gives it an arena of its own, whose pages stay resident
    /// after the team is gone (a policy reload starts a new team), so scratch is reserved by the
    /// caller before `run`.
    public func run(parts: Int, _ body: (Int) -> Void) {
        guard size > 1, parts > 1 else {
            for part in 0..<parts { body(part) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            partCount = parts
            nextPart.store(0, ordering: .relaxed)
            helpersDone.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            takeParts()
            var spins = 0
            while helpersDone.load(ordering: .acquiring) < size - 1 {
                // A helper that lost its core (more threads than cores) needs ours to finish.
                spins += 1
                if spins > 4096 { sched_yield() } else { ck_spin_pause() }
            }
            job = nil
        }
    }

    /// Runs parts until none is left.
    private func takeParts() {
        guard let job else { return }
        let count = partCount
        while true {
            let part = nextPart.add(1, ordering: .relaxed).oldValue
            if part >= count { return }
            job(part)
        }
    }

    private func helperLoop() {
        var seen = 0
        while true {
            seen = nextGeneration(after: seen)
            if stopping { return }
            takeParts()
            helpersDone.add(1, ordering: .releasing)
        }
    }

    /// Waits for a job newer than `seen`: spins for `spinNanoseconds`, then sleeps until woken.
    private func nextGeneration(after seen: Int) -> Int {
        let deadline = Self.now() + Self.spinNanoseconds
        var spins = 0
        while true {
            let current = generation.load(ordering: .acquiring)
            if current != seen { return current }
            spins += 1
            if spins % 256 == 0, Self.now() > deadline { break }
            ck_spin_pause()
        }
        // The sleeper count and the generation are both sequentially consistent, so either the
        // poster sees this sleeper and broadcasts (under the mutex, so not before the wait), or this
        // thread sees the new generation and does not wait.
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return generation.load(ordering: .acquiring)
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
