import ArborProtocol
import Foundation

/// The transport thread: owns the worker and control ROUTERs for their whole life, reads the
/// clock once per pass, feeds what arrived to `CoordinatorSession` and carries out its actions.
/// Everything that touches the disk goes to the writers' queues; their outcomes come back
/// through the mailbox.
extension CoordinatorService {
    /// Runs the job on the calling thread, which becomes the transport thread. Returns the final
    /// status once the session says `finish`. Throws when a socket cannot be bound.
    func loop(onReady: (Endpoints) -> Void) throws -> JobStatus {
        let context = ZMQContext()
        // CURVE: the ZAP handler must be bound in this context before the worker socket binds.
        let authenticator = try options.curve.map { _ in
            try CurveAuthenticator(context: context, authorizedKeys: options.authorizedWorkerKeys) { [logger] in
                logger.warning("\($0)")
            }
        }
        defer { authenticator?.stop() }
        var workerOptions = ZMQSocketOptions()
        workerOptions.curve = options.curve
        let workers = try BufferedSocket(context: context, type: .router, options: workerOptions, bind: options.bind)
        let control = try BufferedSocket(context: context, type: .router, options: ZMQSocketOptions(), bind: options.control)
        let endpoints = Endpoints(
            workers: workers.boundEndpoint ?? options.bind, control: control.boundEndpoint ?? options.control)
        logger.info("coordinator listening: workers \(endpoints.workers), control \(endpoints.control)")
        onReady(endpoints)
        let sockets = Sockets(workers: workers, control: control)

        var session = makeSession()
        var poller = Poller()
        let workerIndex = poller.add(workers.socket)
        let controlIndex = poller.add(control.socket)
        let mailboxIndex = poller.add(fileDescriptor: mailbox.fileDescriptor)

        var now = Clock.now()
        var actions = session.start(written: resumed.writtenBatches, now: now)
        while !carryOut(actions, sockets: sockets, now: now) {
            poller.setWantsWrite(workerIndex, workers.hasBacklog)
            poller.setWantsWrite(controlIndex, control.hasBacklog)
            let ready = poller.wait(timeoutMilliseconds: Int(options.tickInterval * 1000))
            if ready[workerIndex].writable { workers.flushOnce() }
            if ready[controlIndex].writable { control.flushOnce() }

            now = Clock.now()
            actions = []
            for frames in workers.receiveAll() {
                actions += session.handle(.fromWorker(frames), now: now)
            }
            for frames in control.receiveAll() {
                actions += session.handle(.fromControl(frames), now: now)
            }
            if ready[mailboxIndex].readable {
                for event in mailbox.drain() {
                    actions += session.handle(event, now: now)
                }
            }
            actions += session.handle(.tick(curveRefusals: authenticator?.refusals), now: now)
        }
        return finish(&session, sockets: sockets)
    }

    /// The two sockets the transport thread owns.
    struct Sockets {
        let workers: BufferedSocket
        let control: BufferedSocket
    }

    /// Carries out the session's actions in order (transport thread). Returns true on `finish`,
    /// which is always the last action of its pass.
    private func carryOut(_ actions: [CoordinatorSession.Action], sockets: Sockets, now: Double) -> Bool {
        var finishing = false
        for action in actions {
            switch action {
            case .sendToWorker(let identity, let body):
                sockets.workers.send([identity, Wire.encode(body)])
            case .reply(let identity, let body):
                sockets.control.send([identity, Wire.encode(body)])
            case .persist(let change):
                storeWriter.submit(change)
            case .writeBatch(let batch):
                writer.submit(batch) { [mailbox] outcome in
                    switch outcome {
                    case .success(let summary): mailbox.post(.batchWritten(summary))
                    case .failure(let error): mailbox.post(.batchFailed(index: batch.index, message: "\(error)"))
                    }
                }
            case .writeEval(let round):
                evalWriter.submit(round) { [mailbox] outcome in
                    switch outcome {
                    case .success(let report): mailbox.post(.evalWritten(report))
                    case .failure(let error): mailbox.post(.evalFailed(version: round.version, message: "\(error)"))
                    }
                }
            case .readRows(let index):
                writer.readRows(of: index) { [mailbox] rows in mailbox.post(.rowsRead(batch: index, rows)) }
            case .log(let level, let message):
                log(level, message)
            case .publish(let status):
                published.withLock { $0 = status }
                liveness.withLock { $0.lastPublished = now }
            case .finish:
                finishing = true
            }
        }
        return finishing
    }

    /// Waits for the writers, sends the replies their last commits allow, flushes and closes the
    /// sockets (transport thread). Other late events are dropped: the job is over.
    private func finish(_ session: inout CoordinatorSession, sockets: Sockets) -> JobStatus {
        storeWriter.flush()
        writer.finish()
        evalWriter.finish()
        let now = Clock.now()
        var replies: [CoordinatorSession.Action] = []
        for event in mailbox.drain() {
            if case .committed = event { replies += session.handle(event, now: now) }
        }
        _ = carryOut(replies, sockets: sockets, now: now)
        sockets.workers.flush(timeout: 0.5)
        sockets.control.flush(timeout: 0.5)
        sockets.workers.close()
        sockets.control.close()
        return session.finalStatus(now: now)
    }
}
