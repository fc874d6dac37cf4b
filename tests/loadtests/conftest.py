"""Fixtures that start a real gunicorn server and run commands against it.

The server and the command subprocesses share the test database, the Redis
database and one secret key, so tokens minted by a command are valid on the
server and both see the same rows (hence ``transactional_db``).
"""

import secrets
from collections.abc import Iterator

import pytest

from perfdash.loadtests.servers import Server, server_environment, start_server


@pytest.fixture
def server_env(transactional_db: None) -> dict[str, str]:
    return server_environment(
        SECRET_KEY=secrets.token_urlsafe(48), DEBUG="False", PERFDASH_FLUSH_SECONDS="1"
    )


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    with start_server(threads=8, env=server_env) as running:
        yield running
