"""A FAKE coordinator control socket for the client's error, timeout and reconnect tests.

It is a ZeroMQ ROUTER on a thread that answers each request with whatever the test's `answer`
function returns (a list of Envelopes, possibly empty = no reply). The happy path is tested
against the real coordinator in tests/python/test_trainer_stream.py, not here.
"""

import threading

import zmq

from arbor_client import arbor_pb2 as pb


class FakeCoordinator:
    """A ROUTER that records every request and answers it with `answer(envelope, count)`."""

    def __init__(self, answer, endpoint="tcp://127.0.0.1:0"):
        self.answer = answer
        self.requests = []
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(50):
                continue
            identity, frame = self.socket.recv_multipart()
            envelope = pb.Envelope()
            envelope.ParseFromString(frame)
            self.requests.append(envelope)
            for reply in self.answer(envelope, len(self.requests)):
                self.socket.send_multipart([identity, reply if isinstance(reply, bytes) else reply.SerializeToString()])
        self.socket.close(linger=0)

    def request_kinds(self):
        return [r.WhichOneof("body") for r in self.requests]

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)


def envelope(**body):
    """An Envelope with protocol_version 1 and the given body, e.g. envelope(batch_ack=pb.BatchAck(...))."""
    return pb.Envelope(protocol_version=1, **body)


def error(code, message):
    return envelope(error=pb.Error(code=code, message=message))


def batch(index, rows_jsonl="", stale=0, version=0, end=False):
    return envelope(training_batch=pb.TrainingBatch(
        batch_index=index, rows_jsonl=rows_jsonl, stale_rows_dropped=stale, policy_version=version, end_of_job=end))
