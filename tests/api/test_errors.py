def test_unknown_api_path_is_json_404(client) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json == {"status": 404, "message": response.json["message"], "detail": {}}


def test_wrong_method_is_json_405(client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json["status"] == 405


def test_wrong_method_on_an_api_path_is_405_not_404(client) -> None:
    response = client.get("/api/v1/ingest/file")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
