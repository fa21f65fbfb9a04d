"""The access token guards the snapshot over HTTP as over the WebSocket; browsers sign in for a cookie."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from api.access import TOKEN_COOKIE, safe_next

TOKEN = "s3cret-token"
STATUS = "/api/v1/monitoring/pipeline-status"
WS = "/api/v1/ws/monitoring/pipeline-status"
UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
GATED = {"WS_ACCESS_TOKEN": TOKEN}


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Collect the SQL the app's engine runs inside the block."""
    seen: list[str] = []
    engine = app.extensions["engine"]

    def _record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


@pytest.mark.parametrize("app_overrides", [GATED])
@pytest.mark.parametrize(
    ("headers", "cookie"),
    [
        ({}, None),
        ({"Authorization": "Bearer wrong"}, None),
        ({"Authorization": TOKEN}, None),
        ({}, "wrong"),
        ({"Sec-WebSocket-Protocol": "token.wrong"}, None),
    ],
)
def test_the_snapshot_needs_the_token_over_http_and_reads_nothing_without_it(
    app, client, headers: dict, cookie: str | None
) -> None:
    if cookie is not None:
        client.set_cookie(TOKEN_COOKIE, cookie)
    with statements(app) as seen:
        response = client.get(f"{STATUS}?token={TOKEN}", headers=headers)  # the query string is never a token
    assert response.status_code == 401
    body = response.get_json()
    assert set(body) == {"status", "message", "detail"} and "sign in at /sign-in" in body["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert seen == []  # refused before the database


@pytest.mark.parametrize("app_overrides", [GATED])
@pytest.mark.parametrize(("headers", "cookie"), [({"Authorization": f"Bearer {TOKEN}"}, None), ({}, TOKEN)])
def test_the_snapshot_answers_with_the_token(app, client, headers: dict, cookie: str | None) -> None:
    if cookie is not None:
        client.set_cookie(TOKEN_COOKIE, cookie)
    with statements(app) as seen:
        response = client.get(STATUS, headers=headers)
    assert response.status_code == 200 and "version" in response.get_json()
    assert seen  # the listener does see the reads the refusals never make


def test_without_a_configured_token_the_snapshot_stays_public(client) -> None:
    assert client.get(STATUS).status_code == 200


@pytest.mark.parametrize("app_overrides", [GATED])
def test_data_quality_history_stays_public(client) -> None:
    assert client.get("/api/v1/monitoring/data-quality").status_code == 200


# -- signing in -----------------------------------------------------------------------------
@pytest.mark.parametrize("app_overrides", [GATED])
def test_sign_in_sets_an_httponly_same_site_cookie_that_opens_http_and_socket(client) -> None:
    assert client.get("/sign-in").status_code == 200
    response = client.post(
        "/sign-in", data={"token": TOKEN, "next": "/embed/monitor"}, headers={"Origin": "http://localhost"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/embed/monitor"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert client.get(STATUS).status_code == 200  # the test client keeps the cookie, as a browser does
    assert client.get(WS, headers=UPGRADE).status_code != 401  # admitted (the test client cannot upgrade)
    out = client.post("/sign-out")
    assert out.status_code == 303 and f"{TOKEN_COOKIE}=;" in out.headers["Set-Cookie"]
    assert client.get(STATUS).status_code == 401


@pytest.mark.parametrize("app_overrides", [{**GATED, "PROXY_FIX_HOPS": 1}])
def test_the_cookie_is_secure_over_https(client) -> None:
    response = client.post("/sign-in", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 303 and response.headers["Location"] == "/monitor"
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("app_overrides", [GATED])
def test_a_wrong_token_sets_no_cookie(client) -> None:
    response = client.post("/sign-in", data={"token": "guess"})
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert "not the access token" in response.get_data(as_text=True)


@pytest.mark.parametrize("app_overrides", [GATED])
@pytest.mark.parametrize("origin", ["https://evil.example", "https://localhost", "null"])
def test_another_site_cannot_sign_a_browser_in(client, origin: str) -> None:
    response = client.post("/sign-in", data={"token": TOKEN}, headers={"Origin": origin})
    assert response.status_code == 403 and "Set-Cookie" not in response.headers


def test_sign_in_without_a_configured_token_sets_nothing(client) -> None:
    assert "No access token is configured" in client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"token": ""})
    assert response.status_code == 404 and "Set-Cookie" not in response.headers


@pytest.mark.parametrize("app_overrides", [GATED])
def test_the_form_escapes_what_the_url_says(client) -> None:
    html = client.get('/sign-in?next=/monitor"><script>alert(1)</script>').get_data(as_text=True)
    assert "<script>" not in html and "&#34;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/monitor", "/monitor"),
        ("/embed/monitor?tick_ms=500", "/embed/monitor?tick_ms=500"),
        (None, "/monitor"),
        ("https://evil.example/", "/monitor"),
        ("//evil.example/", "/monitor"),
        ("/\\evil.example", "/monitor"),
        ("javascript:alert(1)", "/monitor"),
    ],
)
def test_sign_in_only_goes_on_to_a_local_path(target: str | None, kept: str) -> None:
    assert safe_next(target) == kept
