"""The OpenAPI schema documents the chat API; admin lists its rows."""

import pytest

from tests.conversations.conftest import chat

pytestmark = pytest.mark.django_db


def test_schema_documents_every_chat_endpoint(client):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/{user_id}/chat"]) >= {"post"}
    assert set(paths["/api/{user_id}/conversations/{conversation_id}"]) >= {
        "get",
        "patch",
        "delete",
    }
    assert "get" in paths["/api/{user_id}/conversations"]
    assert "get" in paths["/api/{user_id}/conversations/{conversation_id}/messages"]
    assert "post" in paths["/api/register/"]
    chat_post = paths["/api/{user_id}/chat"]["post"]
    assert {"200", "409", "413", "502", "503", "504"} <= set(chat_post["responses"])
    components = response.json()["components"]["schemas"]
    assert "truncated" in components["ChatResponse"]["properties"]


def test_admin_lists_conversations_and_messages(client, make_user, client_for):
    staff = make_user("staff", is_staff=True, is_superuser=True)
    owner = make_user("owner")
    conversation_id = chat(client_for(owner), owner, "find me in admin").json()[
        "conversation_id"
    ]
    client.force_login(staff)

    listing = client.get("/admin/conversations/conversation/?q=find")
    detail = client.get(f"/admin/conversations/conversation/{conversation_id}/change/")
    messages = client.get("/admin/conversations/message/")

    assert listing.status_code == 200
    assert b"find me in admin" in listing.content
    assert detail.status_code == 200
    assert messages.status_code == 200
