"""arbor_client: the trainer side of an Arbor job.

Pull training batches from a coordinator's control socket as numpy arrays, acknowledge them,
and publish new policy versions::

    from arbor_client import Client

    with Client("tcp://127.0.0.1:5556") as client:
        for batch in client.batches():          # acks each batch when the next is requested
            loss = train_step(batch.ids, batch.mask, batch.logprobs, batch.advantages, batch.weights)
        client.publish_policy(1, "/shared/weights/policy-1.gguf")

The wire code (`arbor_client.arbor_pb2`) is generated from Sources/Protocol/arbor.proto by
scripts/gen-proto.
"""

from .batch import Batch
from .client import PROTOCOL_VERSION, Client, Published
from .errors import ArborError, ArborTimeout, CoordinatorError, ProtocolError

__all__ = [
    "ArborError",
    "ArborTimeout",
    "Batch",
    "Client",
    "CoordinatorError",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "Published",
]

__version__ = "0.1.0"
