"""API_TOKENS and API_READ_TOKENS as SPEC §4 Edges reads them: ``name=token`` only when
the part before the first ``=`` is a name and the rest a whole token (16 characters or
more); anything else is a token as written, base64 padding included."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.access import split_entry
from app.settings import describe_settings_error
from tests.conftest import AppMaker, make_settings

# What `openssl rand -base64 16` prints: 24 characters ending in "==".
BASE64_TOKEN = "q3Zk1mX9pV2rT8sW0yB4nA=="


class TestBase64TokenOverHttp:
    async def test_padded_token_is_the_token_and_its_name_is_token_1(
        self, make_client: AppMaker
    ) -> None:
        client, _ = await make_client(API_TOKENS=BASE64_TOKEN, API_READ_TOKENS="")
        real = {"Authorization": f"Bearer {BASE64_TOKEN}"}
        added = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "manual"}, headers=real
        )
        assert added.status_code == 201
        for fake in ("=", "==", "q3Zk1mX9pV2rT8sW0yB4nA"):
            refused = await client.put(
                "/v1/suppressions/bob@example.com",
                json={"reason": "manual"},
                headers={"Authorization": f"Bearer {fake}"},
            )
            assert refused.status_code == 401, fake
        detail = await client.get("/v1/suppressions/ann@example.com", headers=real)
        assert detail.status_code == 200
        actors = [change["actor"] for change in detail.json()["history"]]
        assert actors == ["token-1"]
        assert BASE64_TOKEN not in detail.text
        gone = await client.get("/v1/suppressions/bob@example.com", headers=real)
        assert gone.status_code == 404

    async def test_named_token_keeps_its_name(self, make_client: AppMaker) -> None:
        client, _ = await make_client(API_TOKENS=f"deploy-bot={BASE64_TOKEN}")
        real = {"Authorization": f"Bearer {BASE64_TOKEN}"}
        added = await client.put(
            "/v1/suppressions/ann@example.com", json={"reason": "manual"}, headers=real
        )
        assert added.status_code == 201
        detail = await client.get("/v1/suppressions/ann@example.com", headers=real)
        assert [c["actor"] for c in detail.json()["history"]] == ["deploy-bot"]


class TestEntryGrammar:
    @pytest.mark.parametrize(
        ("entry", "name", "secret"),
        [
            (BASE64_TOKEN, "token-1", BASE64_TOKEN),
            (f"ops={BASE64_TOKEN}", "ops", BASE64_TOKEN),
            ("ops=" + "x" * 16, "ops", "x" * 16),
            # The rest after a name is not a whole token: the entry is one token as written.
            ("abcdefghijklmnop=short", "token-1", "abcdefghijklmnop=short"),
            # Before the "=" is no name (a "/" or "+" from base64): one token as written.
            ("ab/cd+efghijklmnop=", "token-1", "ab/cd+efghijklmnop="),
            ("a" * 65 + "=" + "y" * 16, "token-1", "a" * 65 + "=" + "y" * 16),
            ("a" * 64 + "=" + "y" * 16, "a" * 64, "y" * 16),
            ("x" * 16, "token-1", "x" * 16),
        ],
    )
    def test_name_and_secret(self, entry: str, name: str, secret: str) -> None:
        assert split_entry(entry, number=1) == (name, secret)


class TestShortTokensStopTheService:
    @pytest.mark.parametrize("setting", ["API_TOKENS", "API_READ_TOKENS"])
    @pytest.mark.parametrize(
        "value",
        [
            "s3cr",
            "=",
            "==",
            "ops=",
            "ops=pw9",
            "x" * 15,
            f"{BASE64_TOKEN},tiny9",
        ],
    )
    def test_one_line_naming_the_setting_without_the_secret(self, setting: str, value: str) -> None:
        with pytest.raises(ValidationError) as caught:
            make_settings(**{setting: value})
        line = describe_settings_error(caught.value)
        assert line.startswith(f"bad setting {setting}")
        assert "\n" not in line
        for part in value.split(","):
            for secret in (part, part.partition("=")[2]):
                if len(secret) >= 3:
                    assert secret not in line


class TestOneRolePerToken:
    def test_a_token_in_both_lists_stops_the_service(self) -> None:
        with pytest.raises(ValidationError) as caught:
            make_settings(API_TOKENS=f"ops={BASE64_TOKEN}", API_READ_TOKENS=BASE64_TOKEN)
        line = describe_settings_error(caught.value)
        assert "API_TOKENS and API_READ_TOKENS" in line
        assert BASE64_TOKEN not in line
