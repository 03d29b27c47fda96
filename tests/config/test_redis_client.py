import pytest

from config.redis_client import get_redis, redis_key, send_commands

pytestmark = pytest.mark.redis


def test_replies_left_unread_are_never_taken_for_the_next_commands():
    key, counter = redis_key("test", "value"), redis_key("test", "counter")
    first = send_commands(("SET", key, "first"), ("GET", key))
    assert send_commands(("INCRBY", counter, 5)).replies() == [5]
    assert first.replies() == [b"OK", b"first"]
    assert first.replies() == [b"OK", b"first"]  # read once, then remembered


def test_commands_are_sent_again_when_redis_closed_the_connection_before_replying():
    key = redis_key("test", "list")
    send_commands(("PING",)).replies()  # the connection has worked
    sent = send_commands(("RPUSH", key, "beacon"))
    get_redis().client_kill_filter(_type="normal", skipme=True)  # as a Redis restart would
    [length] = sent.replies()
    # Taken once or, if Redis had run it before the connection closed, twice: never lost.
    assert length in (1, 2)
    assert get_redis().lrange(key, 0, -1) == [b"beacon"] * length
