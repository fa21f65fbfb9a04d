"""Who may frame the pages: the frame-ancestors policy."""

from __future__ import annotations

import pytest

from dashapp.security import clean_origins, frame_ancestors, is_embed_path, with_frame_ancestors

PARTNER = "https://partner.example.org"


def directive(policy: str, name: str) -> str:
    """Return one directive of a CSP header, e.g. "frame-ancestors 'self'"."""
    found = [part.strip() for part in policy.split(";") if part.split()[0] == name]
    assert len(found) == 1, policy
    return found[0]


@pytest.fixture
def app_overrides() -> dict[str, object]:
    return {"EMBED_ALLOWED_ORIGINS": [PARTNER, "http://127.0.0.1:8123", "evil.example; script-src *"]}


@pytest.mark.parametrize("path", ["/embed/monitor", "/embed/monitor/"])
def test_embed_page_may_be_framed_by_configured_origins(client, path: str) -> None:
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert directive(policy, "frame-ancestors") == f"frame-ancestors 'self' {PARTNER} http://127.0.0.1:8123"
    assert directive(policy, "script-src").startswith("script-src 'self' 'sha256-")  # the strict policy stays
    assert "X-Frame-Options" not in response.headers  # SAMEORIGIN would forbid the partner's frame


@pytest.mark.parametrize("path", ["/", "/monitor", "/healthz", "/api/v1/monitoring/pipeline-status"])
def test_other_pages_may_be_framed_only_by_the_site_itself(client, path: str) -> None:
    response = client.get(path)
    assert directive(response.headers["Content-Security-Policy"], "frame-ancestors") == "frame-ancestors 'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_embed_defaults_to_self_without_configuration(tmp_path) -> None:
    from app import create_app

    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
            "INSTANCE_PATH": str(tmp_path),
            "EMBED_ALLOWED_ORIGINS": [],
        }
    )
    policy = app.test_client().get("/embed/monitor").headers["Content-Security-Policy"]
    assert directive(policy, "frame-ancestors") == "frame-ancestors 'self'"


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


def test_with_frame_ancestors_replaces_only_that_directive() -> None:
    policy = with_frame_ancestors(
        "default-src 'self'; frame-ancestors 'self'", "frame-ancestors 'self' https://a.example"
    )
    assert policy == "default-src 'self'; frame-ancestors 'self' https://a.example"
    assert with_frame_ancestors(None, "frame-ancestors 'self'") == "frame-ancestors 'self'"
