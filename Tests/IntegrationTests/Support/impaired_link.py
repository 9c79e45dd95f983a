#!/usr/bin/env python3
"""A point-to-point link between two network namespaces with delay, jitter, loss and a cut.

Used by the network fault tests where the kernel has no `sch_netem`: the link is a pair of TUN
devices, one moved into each namespace, and this process forwards every IP packet between their
file descriptors (a TUN fd keeps working after its interface moves to another namespace).

Impairment, per packet and per direction:
- loss: dropped with probability --loss, drawn from a generator seeded with --seed (the draws
  are reproducible; which packets meet them depends on the traffic);
- delay: held for --delay-ms ± --jitter-ms (uniform), but never delivered before the packet
  sent ahead of it in the same direction, so each direction keeps its order (a packet may wait
  longer than its draw; the observed delay is what is reported);
- cut: SIGUSR1 drops everything, including packets already held; SIGUSR2 heals.

Runs as root from the root namespace. Prints `ready` once both ends are up, `cut` and
`healed` as the state changes, and one JSON line of counters when it ends: on SIGTERM/SIGINT,
or when its parent (the test) dies. Closing the fds removes both interfaces.

    impaired_link.py --end NS_A NAME_A ADDR_A --end NS_B NAME_B ADDR_B \
        [--delay-ms 200] [--jitter-ms 50] [--loss 0.05] [--seed 1]
"""

import argparse
import collections
import fcntl
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
PARENT_CHECK_SECONDS = 0.5


def open_tun(name):
    """A new TUN interface called `name` (raw IP packets, no header); returns its fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def ip(*arguments):
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True)


class Direction:
    """Packets held on their way from one end to the other, in order, with their counters."""

    def __init__(self, name, source, target):
        self.name, self.source, self.target = name, source, target
        self.held = collections.deque()  # (due, received, packet), due never decreasing
        self.forwarded = self.lost = self.cut = 0
        self.delay_sum = 0.0
        self.delay_min = float("inf")
        self.delay_max = 0.0

    def counters(self):
        return {
            "direction": self.name,
            "forwarded": self.forwarded,
            "lost": self.lost,
            "cut": self.cut,
            "delay_ms_min": round(self.delay_min * 1000, 1) if self.forwarded else None,
            "delay_ms_mean": round(self.delay_sum / self.forwarded * 1000, 1) if self.forwarded else None,
            "delay_ms_max": round(self.delay_max * 1000, 1),
        }


class Link:
    def __init__(self, ends, delay, jitter, loss, seed):
        self.delay, self.jitter, self.loss = delay, jitter, loss
        self.random = random.Random(seed)
        self.is_cut = False
        self.fds = []
        self.directions = []
        try:
            # Root-namespace names unique per process; each end is renamed inside its namespace.
            for index, _ in enumerate(ends):
                self.fds.append(open_tun(f"il{os.getpid()}{index}"))
            for index, (namespace, name, address) in enumerate(ends):
                peer = ends[1 - index][2]
                ip("link", "set", f"il{os.getpid()}{index}", "netns", namespace)
                ip("-n", namespace, "link", "set", f"il{os.getpid()}{index}", "name", name)
                ip("-n", namespace, "addr", "add", address, "peer", peer, "dev", name)
                ip("-n", namespace, "link", "set", name, "up")
        except (OSError, subprocess.CalledProcessError) as error:
            self.close()
            detail = getattr(error, "stderr", "") or ""
            sys.exit(f"impaired_link: cannot make the TUN pair: {error} {detail}".strip())
        names = [end[1] for end in ends]
        self.directions = [
            Direction(f"{names[0]}->{names[1]}", self.fds[0], self.fds[1]),
            Direction(f"{names[1]}->{names[0]}", self.fds[1], self.fds[0]),
        ]

    def receive(self, direction, now):
        """Reads every packet waiting at the direction's source and holds or drops each."""
        while True:
            try:
                packet = os.read(direction.source, 65536)
            except BlockingIOError:
                return
            if self.is_cut:
                direction.cut += 1
            elif self.random.random() < self.loss:
                direction.lost += 1
            else:
                due = now + self.delay + self.random.uniform(-self.jitter, self.jitter)
                if direction.held:
                    due = max(due, direction.held[-1][0])
                direction.held.append((due, now, packet))

    def deliver(self, direction, now):
        """Writes the held packets that are due; a cut drops them instead."""
        while direction.held and direction.held[0][0] <= now:
            _, received, packet = direction.held.popleft()
            if self.is_cut:
                direction.cut += 1
                continue
            try:
                os.write(direction.target, packet)
            except OSError:
                # The far interface is not accepting (down, or its queue full): a lost packet.
                direction.lost += 1
                continue
            waited = now - received
            direction.forwarded += 1
            direction.delay_sum += waited
            direction.delay_min = min(direction.delay_min, waited)
            direction.delay_max = max(direction.delay_max, waited)

    def run(self, should_stop):
        parent = os.getppid()
        while not should_stop() and os.getppid() == parent:
            now = time.monotonic()
            waits = [d.held[0][0] - now for d in self.directions if d.held]
            timeout = max(0.0, min(waits + [PARENT_CHECK_SECONDS]))
            readable, _, _ = select.select(self.fds, [], [], timeout)
            now = time.monotonic()
            for direction in self.directions:
                if direction.source in readable:
                    self.receive(direction, now)
                self.deliver(direction, now)

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end", nargs=3, action="append", metavar=("NAMESPACE", "NAME", "ADDRESS"), required=True)
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--jitter-ms", type=float, default=0)
    parser.add_argument("--loss", type=float, default=0)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if len(options.end) != 2:
        parser.error("a link has exactly two --end")

    link = Link(options.end, options.delay_ms / 1000, options.jitter_ms / 1000, options.loss, options.seed)
    stopping = []

    def cut(*_):
        link.is_cut = True
        print("cut", flush=True)

    def heal(*_):
        link.is_cut = False
        print("healed", flush=True)

    signal.signal(signal.SIGUSR1, cut)
    signal.signal(signal.SIGUSR2, heal)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    # A parent may start us with signals blocked (the mask is inherited); these four must arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT})
    print("ready", flush=True)
    try:
        link.run(lambda: bool(stopping))
    finally:
        link.close()
        print(json.dumps({"counters": [d.counters() for d in link.directions]}), flush=True)


if __name__ == "__main__":
    main()
