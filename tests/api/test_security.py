"""Security headers on every kind of response, trusted hosts, the proxy, the spec's servers, offline docs."""

from __future__ import annotations

import re

import pytest

from config import RAILWAY_HEALTHCHECK_HOST, from_environment

# One of each kind of response: Dash page, Dash asset, API JSON, API error, 404, health, spec, docs.
RESPONSE_KINDS = [
    "/",
    "/monitor",
    "/embed/monitor",
    "/assets/monitor.js",
    "/api/v1/monitoring/pipeline-status",
    "/api/v1/trends?granularity=fortnight",
    "/api/v1/nope",
    "/healthz",
    "/openapi.json",
    "/api/docs",
]


def directives(policy: str) -> dict[str, list[str]]:
    """Split a CSP header into {directive: sources}."""
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", RESPONSE_KINDS)
def test_every_response_kind_carries_the_strict_policy(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code < 500
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert all(source.startswith("'sha256-") for source in policy["script-src"][1:])
    assert "'unsafe-eval'" not in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_script_hashes_are_those_of_dash(app, client) -> None:
    policy = directives(client.get("/monitor").headers["Content-Security-Policy"])
    assert policy["script-src"][1:] == list(app.extensions["dash"].csp_hashes())


def test_inline_scripts_of_a_dash_page_all_match_a_hash(app, client) -> None:
    import base64
    import hashlib

    html = re.sub(r"<!--.*?-->", "", client.get("/monitor").get_data(as_text=True), flags=re.S)  # IE-only alert
    allowed = set(directives(client.get("/monitor").headers["Content-Security-Policy"])["script-src"])
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", html, re.S)
    assert inline
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed


@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX_HOPS": 1}])
def test_hsts_behind_one_trusted_proxy_over_https(client) -> None:
    response = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX_HOPS": 1, "HSTS_SECONDS": 0}])
def test_hsts_can_be_turned_off(client) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers


@pytest.mark.parametrize(("hops", "scheme"), [(0, "http"), (1, "https")])
def test_forwarded_proto_is_honoured_only_with_proxy_fix(
    engine, database_url, tmp_path, hops: int, scheme: str
) -> None:
    from app import create_app

    app = create_app(
        {"APP_ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "PROXY_FIX_HOPS": hops}
    )

    @app.get("/_scheme")
    def _scheme() -> str:
        from flask import request

        return request.scheme

    assert app.test_client().get("/_scheme", headers={"X-Forwarded-Proto": "https"}).get_data(as_text=True) == scheme


# -- hosts and the spec's servers -----------------------------------------------------------
def test_a_poisoned_host_never_reaches_the_spec(client) -> None:
    first = client.get("/openapi.json", headers={"Host": "evil.example"})
    assert first.status_code == 200 and "evil.example" not in first.get_data(as_text=True)
    assert "servers" not in client.get("/openapi.json").get_json()


@pytest.mark.parametrize("app_overrides", [{"PUBLIC_URL": "https://nvcd.example.org"}])
def test_servers_come_from_public_url(client) -> None:
    client.get("/openapi.json", headers={"Host": "evil.example"})
    assert client.get("/openapi.json").get_json()["servers"] == [
        {"url": "https://nvcd.example.org", "description": "This deployment"}
    ]


TRUSTED = {"TRUSTED_HOSTS": ["nvcd.example.org", RAILWAY_HEALTHCHECK_HOST]}


@pytest.mark.parametrize("app_overrides", [TRUSTED])
@pytest.mark.parametrize(
    "path", ["/api/v1/monitoring/pipeline-status", "/healthz", "/openapi.json", "/api/v1/ws/monitoring/pipeline-status"]
)
def test_an_untrusted_host_is_refused_with_400_in_the_json_shape(client, path: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"status", "message", "detail"} and body["status"] == 400
    assert "not trusted" in body["message"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("app_overrides", [TRUSTED])
def test_trusted_hosts_and_railway_health_check_are_served(client) -> None:
    assert client.get("/healthz", headers={"Host": "nvcd.example.org"}).status_code == 200
    assert client.get("/healthz", headers={"Host": RAILWAY_HEALTHCHECK_HOST}).status_code == 200
    assert client.get("/monitor", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    ("env", "hosts", "public", "hops"),
    [
        ({}, None, "", 0),
        ({"TRUSTED_HOSTS": "a.example, b.example"}, ["a.example", "b.example", RAILWAY_HEALTHCHECK_HOST], "", 0),
        (
            {"RAILWAY_PUBLIC_DOMAIN": "nvcd.up.railway.app", "RAILWAY_ENVIRONMENT_NAME": "production"},
            ["nvcd.up.railway.app", RAILWAY_HEALTHCHECK_HOST],
            "https://nvcd.up.railway.app",
            1,
        ),
        (
            {"RAILWAY_ENVIRONMENT": "production", "PROXY_FIX_HOPS": "2", "PUBLIC_URL": "https://x.example/"},
            None,
            "https://x.example",
            2,
        ),
    ],
)
def test_host_and_proxy_settings_from_the_environment(env: dict, hosts, public: str, hops: int) -> None:
    settings = from_environment(env)
    assert (settings["TRUSTED_HOSTS"], settings["PUBLIC_URL"], settings["PROXY_FIX_HOPS"]) == (hosts, public, hops)


def test_public_url_must_be_http_or_https() -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        from_environment({"PUBLIC_URL": "javascript:alert(1)"})


# -- the docs page ------------------------------------------------------------------------------
def test_docs_reference_only_same_origin_assets_that_answer(client) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(urls) >= 4 and all(url.startswith("/api/docs/") for url in urls), urls
    assert "<script>" not in html  # no inline script to allow
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.data) > 100, url
        assert "Content-Security-Policy" in asset.headers


def test_docs_serve_nothing_else_from_the_package(client) -> None:
    for name in ("index.html", "swagger-ui.js.map", "../__init__.py", "oauth2-redirect.html"):
        response = client.get(f"/api/docs/swagger-ui/{name}")
        assert response.status_code == 404
        assert response.get_json()["status"] == 404
