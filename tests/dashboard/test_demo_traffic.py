"""``manage.py demo_traffic``: real chat requests that fill the dashboard."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from perfdash import recorder
from perfdash import selectors as perf
from tests.dashboard.conftest import CHAT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_demo_traffic_chats_and_is_measured(live_server):
    out = StringIO()

    call_command(
        "demo_traffic",
        url=live_server.url,
        seconds=30,
        requests=26,
        rate=50,
        users=2,
        stdout=out,
    )
    recorder.flush(sample=False)

    assert "demo traffic: 26 requests sent" in out.getvalue()
    counts = {(c.route, c.status_class): c.requests for c in perf.request_counts()}
    # 26 requests over two accounts: 2 tokens, then 12 steps of the script
    # each (8 chat turns, 2 lists, 1 history read, 1 refused empty message).
    assert counts[("api/token/", 2)] == 2
    assert counts[(CHAT, 2)] == 16
    assert counts[(CHAT, 4)] == 2
    assert counts[("api/<int:user_id>/conversations", 2)] == 4
    history = "api/<int:user_id>/conversations/<int:conversation_id>/messages"
    assert counts[(history, 2)] == 2


def test_demo_traffic_only_targets_this_machine():
    with pytest.raises(CommandError, match="this machine"):
        call_command("demo_traffic", url="http://192.0.2.1:8000", seconds=1)
