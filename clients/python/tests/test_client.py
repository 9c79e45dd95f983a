"""Client against a FAKE control socket: error replies, timeouts, re-sends and reconnects, and
the order of pulls and acks in `batches()`. The real coordinator is exercised in
tests/python/test_trainer_stream.py."""

import json
import threading
import time

import pytest
import zmq

from arbor_client import ArborError, ArborTimeout, Client, CoordinatorError, ProtocolError
from arbor_client import arbor_pb2 as pb
from fake_coordinator import FakeCoordinator, batch, envelope, error

ROW = json.dumps({"task_id": "t", "task_type": "math", "leaf": 1, "policy_version": 0, "ids": [1, 2],
                  "mask": [0, 1], "logprobs": [0, -0.5], "advantages": [0, 1.0], "weight": 1.0})


@pytest.fixture
def fakes():
    started = []
    yield started
    for fake in started:
        fake.close()


def start(fakes, answer, endpoint="tcp://127.0.0.1:0"):
    fake = FakeCoordinator(answer, endpoint)
    fakes.append(fake)
    return fake


def restart_after_first_request(fakes, first, answer):
    """A thread that waits for `first` to receive a request, closes it (the coordinator dies
    without replying) and starts a new fake on the same endpoint answering with `answer`."""

    def restart():
        deadline = time.monotonic() + 5
        while not first.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        first.close()
        time.sleep(0.3)
        start(fakes, answer, endpoint=first.endpoint)

    restarter = threading.Thread(target=restart)
    restarter.start()
    return restarter


def test_an_error_reply_raises_with_its_code_and_message(fakes):
    fake = start(fakes, lambda request, n: [error(pb.Error.REFUSED, "policy version 1 is not newer than 2")])
    with Client(fake.endpoint, timeout=5) as client:
        with pytest.raises(CoordinatorError) as caught:
            client.publish_policy(1, "/weights/policy-1.gguf")
    assert caught.value.code == "REFUSED"
    assert caught.value.message == "policy version 1 is not newer than 2"
    assert "REFUSED" in str(caught.value) and "not newer than 2" in str(caught.value)
    assert caught.value.request == "policy_update"
    sent = fake.requests[0]
    assert sent.protocol_version == 1
    assert (sent.policy_update.version, sent.policy_update.weights_path) == (1, "/weights/policy-1.gguf")


def test_a_timeout_raises_and_the_late_batch_is_returned_next(fakes):
    def answer(request, n):
        if n == 1:
            time.sleep(0.6)  # answers the first pull after the client gave up on it
        return [batch(n, ROW)]

    fake = start(fakes, answer)
    with Client(fake.endpoint) as client:
        started = time.monotonic()
        with pytest.raises(ArborTimeout) as caught:
            client.pull(timeout=0.2)
        assert 0.15 < time.monotonic() - started < 2
        assert caught.value.code == "TIMEOUT" and isinstance(caught.value, TimeoutError)
        assert [client.pull(timeout=5).index, client.pull(timeout=5).index] == [1, 2]


def test_a_reply_in_another_protocol_version_is_refused(fakes):
    fake = start(fakes, lambda request, n: [pb.Envelope(protocol_version=2, status_reply=pb.StatusReply(status_json="{}"))])
    with Client(fake.endpoint, timeout=5) as client:
        with pytest.raises(ProtocolError, match="protocol version 2"):
            client.status()


def test_an_unanswered_pull_is_resent_on_the_interval(fakes):
    fake = start(fakes, lambda request, n: [] if n == 1 else [batch(5, ROW)])
    with Client(fake.endpoint, timeout=5, resend_interval=0.3) as client:
        assert client.pull().index == 5
    assert fake.request_kinds() == ["batch_pull", "batch_pull"]


def test_a_waiting_pull_survives_a_coordinator_restart(fakes):
    first = start(fakes, lambda request, n: [])  # takes the pull and dies without answering
    port_endpoint = first.endpoint
    restarter = restart_after_first_request(fakes, first, lambda request, n: [batch(8, ROW, version=2)])
    # resend_interval is far away: only the reconnect can make the client send the pull again.
    with Client(port_endpoint, timeout=15, resend_interval=60) as client:
        got = client.pull()
    restarter.join()
    assert (got.index, got.policy_version, got.ids.tolist()) == (8, 2, [[1, 2]])
    assert fakes[1].request_kinds() == ["batch_pull"]


def test_batches_acks_each_batch_when_the_next_is_requested_and_on_break(fakes):
    def answer(request, n):
        kind = request.WhichOneof("body")
        if kind == "batch_ack":
            return [envelope(batch_ack=pb.BatchAck(batch_index=request.batch_ack.batch_index))]
        pulls = fake.request_kinds().count("batch_pull")
        return [batch(pulls, ROW if pulls != 2 else "", stale=4 if pulls == 2 else 0)]

    fake = start(fakes, answer)
    seen = []
    with Client(fake.endpoint, timeout=5) as client:
        for got in client.batches():
            seen.append(got.index)
            # Batch 2 had every row dropped: it is acked and skipped, not yielded.
            if got.index == 3:
                assert [r.batch_ack.batch_index for r in fake.requests if r.HasField("batch_ack")] == [1, 2]
                break
        assert client.stale_rows_dropped == 4
    assert seen == [1, 3]
    assert [(r.WhichOneof("body"), r.batch_ack.batch_index) for r in fake.requests] == [
        ("batch_pull", 0), ("batch_ack", 1), ("batch_pull", 0), ("batch_ack", 2), ("batch_pull", 0), ("batch_ack", 3)]


def test_end_of_job_ends_the_stream_without_asking_again(fakes):
    fake = start(fakes, lambda request, n: [batch(0, end=True)])
    with Client(fake.endpoint, timeout=5) as client:
        assert list(client.batches()) == []
        assert client.pull() is None
    assert fake.request_kinds() == ["batch_pull"]


def test_the_client_refuses_other_threads_and_use_after_close(fakes):
    fake = start(fakes, lambda request, n: [envelope(status_reply=pb.StatusReply(status_json='{"job": {}}'))])
    client = Client(fake.endpoint, timeout=5)
    assert client.status() == {"job": {}}
    caught = []
    worker = threading.Thread(target=lambda: caught.append(pytest.raises(ArborError, client.status).value))
    worker.start()
    worker.join()
    assert caught and caught[0].code == "THREAD"
    client.close()
    client.close()
    with pytest.raises(ArborError) as closed:
        client.pull()
    assert closed.value.code == "CLOSED"


def test_an_undecodable_reply_is_a_protocol_error(fakes):
    fake = start(fakes, lambda request, n: [b"\xff\xff not protobuf"])
    with Client(fake.endpoint, timeout=5) as client:
        with pytest.raises(ProtocolError, match="undecodable reply frame"):
            client.status()
    assert zmq.zmq_version_info() >= (4, 2)  # ZMTP heartbeats the client relies on


def test_a_publish_whose_reply_was_lost_in_a_restart_is_confirmed_from_the_status(fakes):
    first = start(fakes, lambda request, n: [])  # applies the update, dies before replying

    def restarted(request, n):
        if request.HasField("policy_update"):
            return [error(pb.Error.BAD_REQUEST, "policy version 3 is not newer than the current 3")]
        return [envelope(status_reply=pb.StatusReply(status_json=json.dumps({"trainer": {"policy_version": 3}})))]

    restarter = restart_after_first_request(fakes, first, restarted)
    with Client(first.endpoint, timeout=15, resend_interval=60) as client:
        published = client.publish_policy(3, "/weights/policy-3.gguf")
    restarter.join()
    assert (published.version, published.workers_notified) == (3, None)
    assert fakes[1].request_kinds() == ["policy_update", "status_query"]


def test_a_refused_publish_that_was_never_resent_raises(fakes):
    fake = start(fakes, lambda request, n: [error(pb.Error.BAD_REQUEST, "policy version 3 names no weights_path")])
    with Client(fake.endpoint, timeout=5) as client:
        with pytest.raises(CoordinatorError, match="BAD_REQUEST"):
            client.publish_policy(3, "")
    assert fake.request_kinds() == ["policy_update"]  # no status query: nothing to confirm
