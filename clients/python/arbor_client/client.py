"""The trainer's connection to an Arbor coordinator's control socket."""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import socket as _socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass

import zmq
from zmq.utils.monitor import recv_monitor_message

from . import arbor_pb2 as pb
from .batch import Batch
from .errors import ArborError, ArborTimeout, CoordinatorError, ProtocolError

#: The wire version this client speaks (`Envelope.protocol_version`).
PROTOCOL_VERSION = 1

log = logging.getLogger("arbor_client")

_DEFAULT = object()  # "use the client's timeout" for per-call `timeout` arguments


@dataclass(frozen=True)
class Published:
    """The coordinator's answer to `Client.publish_policy` (`PolicyPublished` on the wire)."""

    #: The policy version now current.
    version: int
    #: Workers the update was sent to (workers that join later load it at registration); None
    #: when the reply was lost in a reconnect and the version was confirmed from the status.
    workers_notified: int | None


class Client:
    """A trainer's connection to the coordinator's control socket (`--control`).

    One ZeroMQ DEALER; every request is one `arbor.v1.Envelope` frame and gets exactly one reply.
    Use it from one thread (the thread that created it): ZeroMQ sockets are not thread-safe, and
    every call checks this.

    ``timeout`` (seconds, None = wait as long as it takes) bounds each request; a pull waits until
    the coordinator has a batch ready, which can take minutes, so the default never gives up.
    Every method takes ``timeout=`` to override it per call; running out raises `ArborTimeout`.

    Reliability. The client keeps waiting through a coordinator restart: ZeroMQ reconnects the
    DEALER on its own, and ZMTP heartbeats (every ``heartbeat_interval`` s) notice a peer that
    vanished without closing its connection. A socket monitor tells the client when a connection
    was lost and a new one made; a request that was waiting then is sent again, because the
    coordinator that received it is gone. On top of that, a waiting pull or status query is
    re-sent every ``resend_interval`` seconds: both are safe to repeat (a connection has at most
    one pull waiting, and a re-sent pull replaces it). A policy update is re-sent only after a
    reconnect; if the repeat is refused because the first copy was applied, the client confirms
    the version from the status document. A batch reply that arrives while the client waits for
    something else (a late answer to a timed-out or repeated pull) is kept and returned by the
    next `pull()`; a batch already returned is not returned twice.

    ``identity`` is the DEALER's routing id (default ``trainer-<host>-<pid>-<random>``); it stays
    the same across reconnects, so the coordinator sees the same trainer and its leases.
    """

    def __init__(self, endpoint: str, *, timeout: float | None = None, identity: str | bytes | None = None,
                 resend_interval: float = 10.0, heartbeat_interval: float = 1.0, context: zmq.Context | None = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self.resend_interval = resend_interval
        if identity is None:
            identity = f"trainer-{_socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.identity = identity.encode() if isinstance(identity, str) else bytes(identity)
        #: Stale rows the coordinator reported dropped, summed over the batches received.
        self.stale_rows_dropped = 0
        #: Batches received (each counted once).
        self.batches_received = 0
        self._owner = threading.get_ident()
        self._sequence = itertools.count(1)
        self._pending_batches = collections.deque()  # TrainingBatch replies not yet returned
        self._returned = set()  # batch indices returned by pull()
        self._acked = set()
        self._ended = False
        self._closed = False
        self._streams = weakref.WeakSet()
        self._disconnects = 0
        self._connected = False

        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.ROUTING_ID, self.identity)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RECONNECT_IVL, 100)
        self._socket.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        heartbeat_ms = max(1, int(heartbeat_interval * 1000))
        self._socket.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ms)
        self._socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, 5 * heartbeat_ms)
        self._monitor = self._socket.get_monitor_socket(
            zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self._socket.connect(endpoint)
        self._poller = zmq.Poller()
        self._poller.register(self._socket, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)

    # ------------------------------------------------------------------------------------------
    # Trainer API

    def pull(self, min_policy_version: int = 0, *, timeout=_DEFAULT) -> Batch | None:
        """The next training batch, leased to this client until `ack()`; None at the end of the job.

        Waits until the coordinator has a batch ready (with the default timeout, for as long as
        that takes). ``min_policy_version`` drops rows sampled before that version on top of the
        job's ``max_staleness``. Raises `CoordinatorError` on an `Error` reply, `ArborTimeout`,
        `ProtocolError` on a malformed reply.
        """
        self._check_open()
        while True:
            if self._ended:
                return None
            if self._pending_batches:
                reply = self._pending_batches.popleft()
            else:
                request = pb.Envelope(batch_pull=pb.BatchPull(min_policy_version=min_policy_version))
                reply = self._request(request, "training_batch", timeout, repeatable=True).training_batch
            batch = self._accept_batch(reply)
            if batch is not None or self._ended:
                return batch

    def ack(self, batch: Batch | int, *, timeout=_DEFAULT) -> None:
        """Tells the coordinator the batch (a `Batch` or its index) is consumed; waits for the echo.

        Acking twice is harmless. Raises `CoordinatorError` if the coordinator refuses (e.g. it
        does not know the batch).
        """
        self._check_open()
        index = batch.index if isinstance(batch, Batch) else int(batch)
        request = pb.Envelope(batch_ack=pb.BatchAck(batch_index=index))
        reply = self._request(request, "batch_ack", timeout, repeatable=True,
                              matches=lambda r: r.batch_ack.batch_index == index)
        self._acked.add(reply.batch_ack.batch_index)

    def batches(self, ack: bool = True, *, min_policy_version: int = 0, skip_empty: bool = True):
        """Yields training batches until the end of the job.

        With ``ack=True`` each batch is acked once the consumer is done with it: when the next
        batch is requested (the loop comes round), or when the generator is closed (``break``
        out of the loop, ``close()`` on it, or `Client.close()`). Note that a generator cannot
        tell a ``break`` from an exception in the loop body, so a batch whose training step
        raised is acked too; pass ``ack=False`` and call `ack()` after the optimizer step when
        every batch must be trained at least once (an unacked batch is offered again after the
        job's ``trainer.lease_timeout_s``).

        ``skip_empty`` (default) acks and skips batches whose rows were all dropped as stale
        (counted in `stale_rows_dropped`), so the loop body always gets at least one row.
        """
        stream = self._stream(ack, min_policy_version, skip_empty)
        self._streams.add(stream)
        return stream

    def publish_policy(self, version: int, weights_path: str, abort_in_flight: bool = False, *,
                       timeout=_DEFAULT) -> Published:
        """Publishes policy ``version`` (weights at ``weights_path``) to every worker.

        ``weights_path`` is read by the workers, so it must name a file they can reach (shared
        storage); a relative path that exists here is made absolute. ``abort_in_flight`` requeues
        the requests in flight instead of letting them finish on the old weights. Raises
        `CoordinatorError` when refused, e.g. a version not newer than the current one.
        """
        self._check_open()
        if not os.path.isabs(weights_path) and os.path.exists(weights_path):
            weights_path = os.path.abspath(weights_path)
        request = pb.Envelope(policy_update=pb.PolicyUpdate(
            version=version, weights_path=weights_path, abort_in_flight=abort_in_flight))
        resent = []
        try:
            reply = self._request(request, "policy_published", timeout, repeatable=False, resent=resent)
        except CoordinatorError:
            if resent and self._current_policy_version() == version:
                log.info("policy %d: the reply was lost in a reconnect; the status confirms it", version)
                return Published(version=version, workers_notified=None)
            raise
        return Published(version=reply.policy_published.version,
                         workers_notified=reply.policy_published.workers_notified)

    def status(self, *, timeout=_DEFAULT) -> dict:
        """The coordinator's status document (`arbor status --json`) as a dict."""
        self._check_open()
        reply = self._request(pb.Envelope(status_query=pb.StatusQuery()), "status_reply", timeout, repeatable=True)
        try:
            return json.loads(reply.status_reply.status_json)
        except json.JSONDecodeError as error:
            raise ProtocolError("PROTOCOL", f"status reply is not JSON: {error}") from error

    def close(self) -> None:
        """Acks what open `batches()` loops hold (best effort, a few seconds at most) and closes
        the socket. Idempotent."""
        if self._closed:
            return
        for stream in list(self._streams):
            stream.close()
        self._closed = True
        self._poller.unregister(self._socket)
        self._poller.unregister(self._monitor)
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
        self._socket.close(linger=0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------
    # Internals

    def _stream(self, ack, min_policy_version, skip_empty):
        held = None
        try:
            while True:
                if held is not None and ack:
                    self.ack(held)
                held = None
                batch = self.pull(min_policy_version)
                if batch is None:
                    return
                if skip_empty and len(batch) == 0:
                    self.ack(batch)
                    continue
                held = batch
                yield batch
        finally:
            if held is not None and ack and not self._closed:
                self._ack_quietly(held)

    def _ack_quietly(self, batch: Batch) -> None:
        if threading.get_ident() != self._owner:
            log.warning("batch %d left unacked: its stream was closed off the client's thread", batch.index)
            return
        limit = 5.0 if self.timeout is None else min(self.timeout, 5.0)
        try:
            self.ack(batch, timeout=limit)
        except (ArborError, zmq.ZMQError) as error:
            log.warning("batch %d left unacked on close (%s); the coordinator re-offers it after the lease", batch.index, error)

    def _accept_batch(self, reply: pb.TrainingBatch) -> Batch | None:
        """Turns a TrainingBatch reply into a Batch; None for end of job or a batch already returned."""
        if reply.end_of_job:
            self._ended = True
            return None
        index = reply.batch_index
        if index in self._returned:
            log.info("batch %d offered again; it was already returned by pull()", index)
            if index in self._acked:
                self.ack(index)
            return None
        batch = Batch.from_jsonl(index, reply.policy_version, reply.stale_rows_dropped, reply.rows_jsonl)
        self._returned.add(index)
        self.batches_received += 1
        self.stale_rows_dropped += reply.stale_rows_dropped
        return batch

    def _current_policy_version(self):
        try:
            document = self.status(timeout=5.0)
        except ArborError:
            return None
        return (document.get("trainer") or {}).get("policy_version")

    def _request(self, envelope: pb.Envelope, expect: str, timeout, *, repeatable: bool,
                 matches=None, resent=None) -> pb.Envelope:
        """Sends ``envelope`` and returns the reply whose body is ``expect``.

        Re-sends after a reconnect (always) and every ``resend_interval`` (``repeatable`` only).
        An `Error` reply raises `CoordinatorError`; TrainingBatch replies meant for earlier pulls
        are queued for `pull()`; other stray replies are dropped.
        """
        self._check_owner()
        timeout = self.timeout if timeout is _DEFAULT else timeout
        request_name = envelope.WhichOneof("body")
        envelope.protocol_version = PROTOCOL_VERSION
        envelope.sequence = next(self._sequence)
        frame = envelope.SerializeToString()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._read_monitor()  # so a disconnect that already happened is not taken for a later one
        self._socket.send(frame)
        sent_at, sent_disconnects = time.monotonic(), self._disconnects
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise ArborTimeout(f"no reply from {self.endpoint} within {timeout} s", request_name)
            wait = self.resend_interval - (now - sent_at) if repeatable else self.resend_interval
            if deadline is not None:
                wait = min(wait, deadline - now)
            events = dict(self._poller.poll(max(0, int(wait * 1000)) + 1))
            if self._monitor in events:
                self._read_monitor()
            if self._socket in events:
                reply = self._receive()
                body = reply.WhichOneof("body")
                if body == expect and (matches is None or matches(reply)):
                    return reply
                if body == "error":
                    code = pb.Error.Code.Name(reply.error.code) if reply.error.code in pb.Error.Code.values() \
                        else str(reply.error.code)
                    raise CoordinatorError(code, reply.error.message, request_name)
                if body == "training_batch":
                    self._pending_batches.append(reply.training_batch)
                else:
                    log.debug("dropped a stray %s reply while waiting for %s", body, expect)
                continue
            reconnected = self._disconnects > sent_disconnects and self._connected
            periodic = repeatable and time.monotonic() - sent_at >= self.resend_interval
            if reconnected or periodic:
                log.info("re-sending %s to %s (%s)", request_name, self.endpoint,
                         "reconnected" if reconnected else f"no reply in {self.resend_interval} s")
                self._socket.send(frame)
                sent_at, sent_disconnects = time.monotonic(), self._disconnects
                if resent is not None:
                    resent.append(sent_at)

    def _receive(self) -> pb.Envelope:
        frames = self._socket.recv_multipart()
        if len(frames) != 1:
            raise ProtocolError("PROTOCOL", f"expected one frame per message, got {len(frames)}")
        envelope = pb.Envelope()
        try:
            envelope.ParseFromString(frames[0])
        except Exception as error:  # protobuf raises DecodeError; the C implementation others
            raise ProtocolError("PROTOCOL", f"undecodable reply frame ({len(frames[0])} bytes): {error}") from error
        if envelope.protocol_version != PROTOCOL_VERSION:
            raise ProtocolError("PROTOCOL", f"reply speaks protocol version {envelope.protocol_version}, "
                                            f"this client speaks {PROTOCOL_VERSION}")
        return envelope

    def _read_monitor(self) -> None:
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_DISCONNECTED:
                self._disconnects += 1
                self._connected = False
                log.info("lost the connection to %s; ZeroMQ reconnects", self.endpoint)
            elif event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._connected = True

    def _check_owner(self) -> None:
        if threading.get_ident() != self._owner:
            raise ArborError("THREAD", "an arbor_client.Client must be used from the thread that created it")

    def _check_open(self) -> None:
        if self._closed:
            raise ArborError("CLOSED", f"the client for {self.endpoint} is closed")
