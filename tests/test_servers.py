"""The private-server harness itself: each server starts, is driven and stops."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests import servers

pytestmark = [pytest.mark.slow, pytest.mark.faults]


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(0.5)
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_private_redis_pauses_resumes_and_restarts():
    with servers.private_redis() as redis:
        assert _redis_answers(redis.port)

        redis.pause()
        assert not _redis_answers(redis.port)
        redis.resume()
        assert _redis_answers(redis.port)

        redis.restart()
        assert _redis_answers(redis.port)
        port = redis.port
    assert not _redis_answers(port)


def test_private_postgres_restarts_and_keeps_data():
    with servers.private_postgres() as pg:
        pg.create_database("harness")
        pg.execute("CREATE TABLE t (x int)", dbname="harness")
        pg.execute("INSERT INTO t VALUES (7)", dbname="harness")

        pg.restart()

        assert pg.execute("SELECT x FROM t", dbname="harness") == [(7,)]


def test_gunicorn_serves_the_project_on_private_services():
    with servers.private_redis() as redis, servers.private_postgres() as pg:
        url = pg.create_database("web", migrate=True)
        env = servers.project_env(
            DATABASE_URL=url, REDIS_URL=redis.url(1), CACHE_KEY_PREFIX="harness"
        )
        with servers.gunicorn(env, workers=2, threads=2) as web:
            assert len(web.worker_pids()) == 2
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(f"{web.url}/api/no-such-thing/", timeout=5)
            assert caught.value.code == 404
            body = json.loads(caught.value.read())
            assert body["error"]["code"] == "not_found"
        assert not web.alive()


def test_celery_worker_and_beat_start_on_a_private_broker():
    with servers.private_redis() as redis:
        env = servers.project_env(CELERY_BROKER_URL=redis.url(2))
        with servers.celery_worker(env) as worker, servers.celery_beat(env) as beat:
            assert worker.alive() and beat.alive()
        assert not worker.alive() and not beat.alive()
