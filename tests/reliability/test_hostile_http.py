"""Hostile Authorization headers on the wire, through gunicorn: never a 5xx."""

import json
import socket

import pytest

from tests import servers
from tests.reliability.conftest import sign_up

pytestmark = [pytest.mark.slow]


def _raw_get(port: int, path: str, authorization: bytes) -> tuple[int, bytes]:
    """Send one request with raw header bytes; return the status and body."""
    request = (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: " + authorization + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def test_hostile_headers_on_the_wire(stack_env):
    with servers.gunicorn(stack_env()) as web:
        alice = sign_up(web.url)
        path = f"/api/{alice.user_id}/conversations"
        answers = {
            name: _raw_get(web.port, path, value)
            for name, value in {
                "10 KB token": b"Bearer " + b"x" * 10240,
                "10 KB three-part token": b"Bearer " + b".".join([b"e" * 3400] * 3),
                "UTF-8 bytes": "Bearer \u00e9\u20ac".encode(),
                "forged signature": alice.token.encode()[:-3] + b"AAA",
                "20 KB token": b"Bearer " + b"x" * 20480,
                "control bytes": b"Bearer \x01\x02",
                "NUL byte": b"Bearer \x00",
            }.items()
        }

    # Reaching the app: 401 in the API's one error shape.
    for name in ("10 KB token", "10 KB three-part token", "UTF-8 bytes"):
        status, body = answers[name]
        assert status == 401, name
        assert set(json.loads(body)["error"]) == {"code", "message"}
    status, body = answers["forged signature"]
    assert status == 401 and json.loads(body)["error"]["code"] == "not_authenticated"
    # Refused by gunicorn's HTTP parser before the app: a 4xx, never a 5xx.
    assert answers["20 KB token"][0] == 431
    assert answers["control bytes"][0] == 400
    assert answers["NUL byte"][0] == 400
