"""Remote policy serving over ZeroMQ: the policy runs where the GPUs are, the robot PC asks it for chunks.

- :mod:`~failforward.transport.wire` / :mod:`~failforward.transport.messages`: msgpack with raw numpy buffers,
  typed requests and replies, no pickle, limits enforced before decoding.
- :mod:`~failforward.transport.server`: ``PolicyServer`` (``failforward serve``), loopback by default, CURVE
  beyond it; one inference at a time, FIFO per robot, round-robin across robots.
- :mod:`~failforward.transport.remote_policy`: the ``remote`` policy backend (``RemotePolicyConfig``).
- :mod:`~failforward.transport.keys`: ``failforward keys``; keys from files or the environment.

Nothing here is imported by the core unless a remote policy or a server is asked for (pyzmq and msgpack are
the ``serve`` extra).
"""
