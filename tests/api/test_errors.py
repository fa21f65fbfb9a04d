import pytest


def test_unknown_api_path_is_json_404(client) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json == {"status": 404, "message": response.json["message"], "detail": {}}


def test_wrong_method_is_json_405(client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json["status"] == 405


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("TRACE", "/api/v1/ingest/batch", {"POST"}),
        ("TRACE", "/api/v1/trends", {"GET"}),
        ("POST", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_405_names_the_allowed_methods(client, method: str, path: str, allowed: set[str]) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405 and response.json["status"] == 405
    assert set(response.headers["Allow"].split(", ")) == allowed
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/events", {"GET", "HEAD", "OPTIONS"}),
        ("/api/v1/ingest/batch", {"POST", "OPTIONS"}),
    ],
)
def test_options_lists_only_the_endpoint_methods(client, path: str, allowed: set[str]) -> None:
    response = client.options(path)
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_wrong_method_on_an_api_path_is_405_not_404(client) -> None:
    response = client.get("/api/v1/ingest/file")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
