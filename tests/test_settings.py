"""Settings: URL forms, defaults, comma lists and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings, describe_settings_error, normalize_database_url
from tests.conftest import make_settings


class TestDatabaseUrl:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
            ("sqlite:////var/lib/bouncer.db", "sqlite+aiosqlite:////var/lib/bouncer.db"),
            ("postgresql://u:p@db/bouncer", "postgresql+asyncpg://u:p@db/bouncer"),
            ("postgres://u:p@db:5433/bouncer", "postgresql+asyncpg://u:p@db:5433/bouncer"),
            ("postgresql+asyncpg://u@db/b", "postgresql+asyncpg://u@db/b"),
            ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
            ("postgres://u@db/b?sslmode=require", "postgresql+asyncpg://u@db/b?ssl=require"),
            ("  postgres://u@db/b  ", "postgresql+asyncpg://u@db/b"),
        ],
    )
    def test_forms_map_to_async_drivers(self, given: str, expected: str) -> None:
        assert normalize_database_url(given) == expected
        assert make_settings(DATABASE_URL=given).database_url == expected

    def test_default_is_sqlite_under_data_dir(self, tmp_path: Path) -> None:
        settings = make_settings(DATA_DIR=tmp_path)
        assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/bouncer.db"

    def test_default_data_dir_is_relative_data(self) -> None:
        assert make_settings().database_url == "sqlite+aiosqlite:///data/bouncer.db"

    @pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url", "relative/x.db"])
    def test_unsupported_forms_name_the_setting(self, bad: str) -> None:
        with pytest.raises(ValidationError) as caught:
            make_settings(DATABASE_URL=bad)
        line = describe_settings_error(caught.value)
        assert line.startswith("bad setting DATABASE_URL")
        assert "\n" not in line


class TestDefaults:
    def test_spec_defaults(self) -> None:
        settings = make_settings()
        assert settings.AUTO_MIGRATE is True
        assert settings.SNS_TOPIC_ARNS == []
        assert settings.SNS_AUTO_CONFIRM is True
        assert settings.SNS_MAX_AGE_SECONDS == 3600
        assert settings.SNS_MIN_SIGNATURE_VERSION == 1
        assert settings.SNS_VERIFY_SIGNATURES is True
        assert settings.SNS_CERT_DIR is None
        assert settings.SNS_BASIC_AUTH == []
        assert settings.SOFT_BOUNCE_LIMIT == 3
        assert settings.SOFT_BOUNCE_WINDOW_DAYS == 14
        assert settings.SOFT_BOUNCE_SUPPRESS_DAYS == 7
        assert settings.API_TOKENS == []
        assert settings.API_READ_TOKENS == []
        assert settings.LOG_LEVEL == "INFO"
        assert settings.LOG_LEVEL_LIBRARIES == "WARNING"


class TestCommaLists:
    def test_split_and_trimmed(self) -> None:
        settings = make_settings(
            SNS_TOPIC_ARNS=" arn:aws:sns:*:1:a , arn:aws:sns:*:1:b,,",
            API_TOKENS="ops=abcdefghijklmnop, qrstuvwxyz012345",
        )
        assert settings.SNS_TOPIC_ARNS == ["arn:aws:sns:*:1:a", "arn:aws:sns:*:1:b"]
        assert settings.API_TOKENS == ["ops=abcdefghijklmnop", "qrstuvwxyz012345"]

    def test_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from app.settings import Settings

        monkeypatch.setenv("SNS_TOPIC_ARNS", "arn:aws:sns:*:123456789012:*")
        monkeypatch.setenv("SNS_MIN_SIGNATURE_VERSION", "2")
        settings = Settings()
        assert settings.SNS_TOPIC_ARNS == ["arn:aws:sns:*:123456789012:*"]
        assert settings.SNS_MIN_SIGNATURE_VERSION == 2


class TestBadValues:
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("SNS_MAX_AGE_SECONDS", "-1"),
            ("SNS_MIN_SIGNATURE_VERSION", "3"),
            ("SNS_BASIC_AUTH", "no-colon"),
            ("SOFT_BOUNCE_LIMIT", "0"),
            ("AUTO_MIGRATE", "perhaps"),
            ("LOG_FORMAT", "xml"),
            ("LOG_LEVEL", "debgu"),
            ("LOG_LEVEL_LIBRARIES", "verbose"),
            ("SNS_TOPIC_ARNS", "*123456789012*"),
        ],
    )
    def test_named_in_one_line(self, name: str, value: str) -> None:
        with pytest.raises(ValidationError) as caught:
            make_settings(**{name: value})
        line = describe_settings_error(caught.value)
        assert name in line
        assert "\n" not in line


class TestStatementTimeout:
    """DATABASE_STATEMENT_TIMEOUT_SECONDS: unset, 5 s on PostgreSQL and 10 s for SQLite's
    write-lock queue; set, the same bound on both."""

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({}, 10.0),
            ({"DATABASE_URL": "postgresql://u@h/db"}, 5.0),
            ({"DATABASE_STATEMENT_TIMEOUT_SECONDS": "2.5"}, 2.5),
            (
                {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_STATEMENT_TIMEOUT_SECONDS": "8"},
                8.0,
            ),
        ],
    )
    def test_default_per_database(
        self, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: float
    ) -> None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.delenv("DATABASE_STATEMENT_TIMEOUT_SECONDS", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert Settings().statement_timeout == expected

    @pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
    def test_refuses_a_bound_that_is_no_bound(
        self, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_SECONDS", value)
        with pytest.raises(ValidationError):
            Settings()
