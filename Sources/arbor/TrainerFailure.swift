import Coordinator

/// Why the trainer failed the run, if it did: it exited non-zero or was killed (not by `arbor
/// run` stopping it), or it exited 0 while the job was not complete.
struct TrainerFailure {
    let text: String

    init?(process: TrainerProcess, status: JobStatus) {
        guard let exit = process.exit, !process.wasStoppedByUs else { return nil }
        let complete = status.job.phase == "complete"
        let acked = status.trainer.map { "\($0.batchesAcked) of \(status.job.batchesTotal) batch(es) acknowledged" }
        var text: String
        if exit.status != 0 {
            text = "arbor run: the trainer \(exit.description)"
                + (complete ? " after the job completed" : " before the job completed (\(acked ?? "–"))")
        } else if !complete {
            text = "arbor run: the trainer exited with status 0 before the job completed (\(acked ?? "–")); "
                + "a trainer must pull until the end of the job"
        } else {
            return nil
        }
        let lines = process.lastLines
        text += lines.isEmpty ? "; it printed nothing" : "; its last \(lines.count) line(s):\n"
        text += lines.map { "  | \($0)" }.joined(separator: "\n")
        self.text = text
    }
}
