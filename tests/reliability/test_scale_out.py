"""Two gunicorn instances on one PostgreSQL and one Redis: any serves any turn."""

import pytest

from tests import servers
from tests.reliability.conftest import (
    assert_history,
    measured_processes,
    measured_requests,
    sign_up,
)

pytestmark = [pytest.mark.slow]


def test_conversations_continue_across_instances_with_correct_history(
    stack_env, database_url, fake_model
):
    env = stack_env(CHAT_CONTEXT_MESSAGES="100")
    with (
        servers.gunicorn(env, name="web-a", workers=1) as web_a,
        servers.gunicorn(env, name="web-b", workers=1) as web_b,
    ):
        instances = [web_a.url, web_b.url]
        alice = sign_up(web_a.url)
        bob = sign_up(web_b.url)
        statuses: list[int] = []
        threads: dict[str, int] = {}

        # Each user alternates instances turn by turn, interleaved with the
        # other user, as a round-robin load balancer would send them.
        for turn in range(6):
            for offset, user in enumerate((alice, bob)):
                here = user.on(instances[(turn + offset) % 2])
                response = here.chat(
                    f"{user.username} says {turn}", threads.get(user.username)
                )
                statuses.append(response.status_code)
                assert response.status_code == 200, response.text
                body = response.json()
                threads[user.username] = body["conversation_id"]
                # The fake model echoes how many messages it was given: the
                # whole history, whichever instance served the last turn.
                assert body["messages"][1]["content"].startswith(
                    f"[fake] {2 * turn + 1} messages"
                )

        histories = {}
        foreign = 0
        for user in (alice, bob):
            for url in instances:
                mine = user.on(url)
                history = mine.messages(threads[user.username])
                assert_history(history, 6)
                users = {
                    m["content"].split(" says ")[0]
                    for m in history
                    if m["role"] == "user"
                }
                foreign += len(users - {user.username})
                histories[(user.username, url)] = history
                listed = [c["id"] for c in mine.conversations()]
                assert listed == [threads[user.username]]
        # Another user's conversation is 404 on both instances.
        for url in instances:
            peek = alice.on(url).http.get(
                f"/api/{alice.user_id}/conversations/{threads[bob.username]}/messages"
            )
            assert peek.status_code == 404

    assert statuses == [200] * 12
    assert foreign == 0
    # Both instances agree on every history.
    for user in (alice, bob):
        a, b = (histories[(user.username, url)] for url in instances)
        assert a == b
    # perfdash counted the requests of both processes (flushed at shutdown).
    measured = measured_requests(database_url)
    posts = sum(
        n
        for (route, method, _), n in measured.items()
        if route.endswith("/chat") and method == "POST"
    )
    assert posts == 12
    assert measured_processes(database_url) == 2
