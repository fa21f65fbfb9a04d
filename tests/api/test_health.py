from alembic import command
from alembic.script import ScriptDirectory

from app import create_app
from tests.conftest import alembic_config


def test_healthz_reports_database_and_revision(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "reachable"
    assert response.json["revision"] == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_healthz_503_when_database_unreachable(tmp_path) -> None:
    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == 503
    assert response.json["detail"]["database"] == "unreachable"
    assert "Traceback" not in response.get_data(as_text=True)


def test_openapi_document_is_served(client) -> None:
    spec = client.get("/openapi.json").json
    assert spec["info"]["title"] == "NVCD Monitor API"
    assert "/healthz" in spec["paths"]


def test_dash_home_page_is_served(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "_dash-config" in response.get_data(as_text=True)


def test_healthz_503_when_database_not_migrated(tmp_path) -> None:
    app = create_app(
        {
            "APP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["detail"]["revision"] is None
    assert "alembic upgrade head" in response.json["message"]


def test_healthz_503_when_database_is_behind_the_code(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0001")
    app = create_app({"APP_ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["detail"]["revision"] == "0001"
    assert response.json["detail"]["expected"] != "0001"
