"""Fan-out isolation on real socket pairs: idle clients get frames at once, a full one never blocks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from api.fanout import CapacityError, Fanout, Subscription
from api.transport import ReaderSocket
from api.wire import Encoded, SendTimeout


def message(seq: int, kind: str = "snapshot", size: int = 100) -> Encoded:
    """Return an encoded message whose payload names its sequence number."""
    return Encoded(seq, kind, seq, f'{{"seq":{seq},"pad":"{"x" * size}"}}'.encode())


def read_frames(sock: socket.socket, timeout: float = 2.0) -> list[bytes]:
    """Read whole unmasked text frames (no deflate) until the socket goes quiet."""
    sock.settimeout(timeout)
    buffer, frames = b"", []
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            break
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= 2:
            size, start = buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buffer[2:4]), 4
            elif size == 127:
                size, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + size:
                break
            frames.append(buffer[start : start + size])
            buffer = buffer[start + size :]
        sock.settimeout(0.3)
    return frames


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    """Yield a factory list of connected socket pairs, closed afterwards."""
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def attach(fanout: Fanout, pairs: list, small: bool = False) -> tuple[Subscription, socket.socket]:
    """Reserve a slot and attach the server end of a new socket pair; return (sub, client end)."""
    server, client = socket.socketpair()
    if small:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pairs.append((server, client))
    sub = fanout.reserve()
    fanout.attach(sub, server, None)
    return sub, client


def test_publish_writes_whole_frames_to_idle_clients_without_their_handlers(pairs) -> None:
    fanout = Fanout(max_clients=10)
    subs = [attach(fanout, pairs) for _ in range(3)]
    assert fanout.publish(message(1)) == 3
    for sub, client in subs:
        assert read_frames(client, 0.5) == [message(1).text]
        assert not sub.wake.is_set() and not sub.pending


def test_a_full_client_is_left_to_its_handler_and_never_delays_the_others(pairs) -> None:
    fanout = Fanout(max_clients=10)
    stalled, _stalled_end = attach(fanout, pairs, small=True)
    healthy, healthy_end = attach(fanout, pairs)
    frames: list[bytes] = []
    reader = threading.Thread(target=lambda: frames.extend(read_frames(healthy_end)))
    reader.start()
    started = time.monotonic()
    for seq in range(1, 41):  # 40 x 20 KB: far more than the stalled socket can buffer
        fanout.publish(message(seq, size=20_000))
    assert time.monotonic() - started < 1.0, "publishing waited on a full socket"
    assert stalled.pending and stalled.wake.is_set()
    fanout.catch_up(healthy, 2.0)  # what the healthy client's handler does when woken
    reader.join()
    with pytest.raises(SendTimeout):  # its handler's bounded send gives up on a client that never reads
        fanout.catch_up(stalled, 0.3)
    assert frames[-1] == message(40, size=20_000).text
    assert all(frame.endswith(b'"}') for frame in frames)  # whole frames, never interleaved


def test_a_slow_reader_catches_up_with_the_latest_message_not_the_backlog(pairs) -> None:
    fanout = Fanout(max_clients=10)
    slow, slow_end = attach(fanout, pairs, small=True)
    for seq in range(1, 21):
        fanout.publish(message(seq, size=20_000))
    frames: list[bytes] = []
    reader = threading.Thread(target=lambda: frames.extend(read_frames(slow_end)))
    reader.start()
    fanout.catch_up(slow, 5.0)
    reader.join()
    assert not slow.pending
    seqs = [int(frame.split(b",")[0].split(b":")[1]) for frame in frames]
    assert seqs[-1] == 20 and len(seqs) < 20  # whole frames only, older ones superseded


def test_heartbeat_does_not_replace_a_snapshot_the_client_never_had(pairs) -> None:
    fanout = Fanout(max_clients=10)
    fanout.publish(message(1))
    fanout.publish(message(2, kind="heartbeat"))
    late, late_end = attach(fanout, pairs)
    fanout.catch_up(late, 1.0)
    assert read_frames(late_end, 0.5) == [message(1).text]


def test_capacity_and_release() -> None:
    fanout = Fanout(max_clients=1)
    sub = fanout.reserve()
    with pytest.raises(CapacityError):
        fanout.reserve()
    fanout.release(sub)
    fanout.release(sub)
    assert fanout.count() == 0 and fanout.reserve().id == 2
    fanout.stop()
    with pytest.raises(CapacityError):
        fanout.reserve()


def test_a_control_reply_waits_for_a_half_written_frame(pairs) -> None:
    fanout = Fanout(max_clients=10)
    sub, client_end = attach(fanout, pairs, small=True)
    big = message(1, size=200_000)
    fanout.publish(big)
    assert sub.pending, "the frame should not fit at once"
    reader_sock = ReaderSocket(sub.sock, fanout.control_writer(sub, sub.sock, 5.0))  # type: ignore[arg-type]
    frames: list[bytes] = []
    reader = threading.Thread(target=lambda: frames.extend(read_frames(client_end)))
    reader.start()
    assert reader_sock.send(b"\x8a\x00") == 2  # a pong, as simple-websocket's reader sends it
    reader.join()
    assert frames == [big.text, b""]  # the whole frame first, then the (empty) pong
