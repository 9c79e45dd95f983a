import Foundation

/// The reference for `arbor bench transport`: bare libzmq DEALER/ROUTER ping-pong over TCP
/// loopback with the same message size, no protocol, no state machine.
public enum RawPingPong {
    /// Runs `count` sequential round trips of `size`-byte messages after `warmup` unmeasured ones;
    /// returns each round trip's seconds. Throws `.transport` when sockets cannot be set up.
    public static func run(count: Int, size: Int, warmup: Int = 200) throws -> [Double] {
        let context = ZMQContext()
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var endpoint = ""
        nonisolated(unsafe) var echoError: (any Error)?
        let total = count + warmup
        let echo = Thread {
            do {
                let router = try ZMQSocket(context: context, type: .router)
                endpoint = try router.bind("tcp://127.0.0.1:0")
                ready.signal()
                var poller = Poller()
                _ = poller.add(router)
                var echoed = 0
                while echoed < total {
                    _ = poller.wait(timeoutMilliseconds: 1000)
                    while let message = try router.receive() {
                        _ = try router.send(message)
                        echoed += 1
                    }
                }
                router.close()
            } catch {
                echoError = error
                ready.signal()
            }
        }
        echo.start()
        ready.wait()
        if let echoError { throw echoError }

        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.connect(endpoint)
        var poller = Poller()
        _ = poller.add(dealer)
        let payload = Frame(repeating: 0x5a, count: size)
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        for index in 0..<total {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try dealer.send([payload])
            var reply: [Frame]?
            while reply == nil {
                _ = poller.wait(timeoutMilliseconds: 1000)
                reply = try dealer.receive()
            }
            if index >= warmup {
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        dealer.close()
        return latencies
    }
}
