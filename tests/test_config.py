import pytest

import config
from app import create_app


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@host:5432/db", "postgresql+psycopg://u:p@host:5432/db"),
        ("postgresql://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        ("postgresql+psycopg2://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        ("postgresql+psycopg://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        ("POSTGRES://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        (
            "postgres://u:p%40ss%25w0rd@host:5432/db?sslmode=require",
            "postgresql+psycopg://u:p%40ss%25w0rd@host:5432/db?sslmode=require",
        ),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_normalise_database_url(given: str, expected: str) -> None:
    assert config.normalise_database_url(given) == expected


def test_database_url_defaults_to_sqlite_in_instance_folder(tmp_path) -> None:
    settings = config.from_environment({"INSTANCE_PATH": str(tmp_path)})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'nvcd.sqlite3'}"


def test_environment_database_url_is_normalised() -> None:
    settings = config.from_environment({"DATABASE_URL": "postgres://a:b@h/d"})
    assert settings["DATABASE_URL"] == "postgresql+psycopg://a:b@h/d"


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_development_starts_without_secret_key(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["APP_ENV"] == "development"


def test_overrides_win_over_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("WS_MAX_CLIENTS", "7")
    app = create_app({"APP_ENV": "testing", "WS_MAX_CLIENTS": 3, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["WS_MAX_CLIENTS"] == 3


@pytest.mark.parametrize(
    ("key", "value"), [("WS_MAX_CLIENTS", "many"), ("WS_PING_SECONDS", "5s"), ("MAX_UPLOAD_MB", "-1")]
)
def test_bad_numbers_in_the_environment_are_named(key: str, value: str) -> None:
    with pytest.raises(config.ConfigError, match=key):
        config.from_environment({key: value})
