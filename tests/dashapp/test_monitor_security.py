"""Who may frame the pages: the frame-ancestors policy."""

from __future__ import annotations

import pytest

from dashapp.security import clean_origins, frame_ancestors, is_embed_path

PARTNER = "https://partner.example.org"


@pytest.fixture
def app_overrides() -> dict[str, object]:
    return {"EMBED_ALLOWED_ORIGINS": [PARTNER, "http://127.0.0.1:8123", "evil.example; script-src *"]}


@pytest.mark.parametrize("path", ["/embed/monitor", "/embed/monitor/"])
def test_embed_page_may_be_framed_by_configured_origins(client, path: str) -> None:
    policy = client.get(path).headers["Content-Security-Policy"]
    assert policy == f"frame-ancestors 'self' {PARTNER} http://127.0.0.1:8123"


@pytest.mark.parametrize("path", ["/", "/monitor", "/healthz", "/api/v1/monitoring/pipeline-status"])
def test_other_pages_may_be_framed_only_by_the_site_itself(client, path: str) -> None:
    assert client.get(path).headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_embed_defaults_to_self_without_configuration(tmp_path) -> None:
    from app import create_app

    app = create_app({"APP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
                      "INSTANCE_PATH": str(tmp_path), "EMBED_ALLOWED_ORIGINS": []})
    assert app.test_client().get("/embed/monitor").headers["Content-Security-Policy"] == "frame-ancestors 'self'"


@pytest.mark.parametrize(
    ("origin", "kept"),
    [
        ("https://partner.example.org", True),
        ("https://partner.example.org/", True),
        ("http://localhost:8050", True),
        ("https://*.example.org", True),
        ("partner.example.org", False),
        ("https://a.example; script-src *", False),
        ("'unsafe-inline'", False),
        ("javascript:alert(1)", False),
    ],
)
def test_only_well_formed_origins_reach_the_header(origin: str, kept: bool) -> None:
    assert bool(clean_origins([origin])) is kept


def test_frame_ancestors_directive() -> None:
    assert frame_ancestors() == "frame-ancestors 'self'"
    assert frame_ancestors([PARTNER + "/"]) == f"frame-ancestors 'self' {PARTNER}"


def test_embed_path_matching_respects_prefix() -> None:
    assert is_embed_path("/embed/monitor")
    assert is_embed_path("/dash/embed/monitor", "/dash/")
    assert not is_embed_path("/embed/monitor/extra")
    assert not is_embed_path("/monitor")
