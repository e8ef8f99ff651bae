"""A database lost mid-import: 503 saying which lines are stored, and they are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.models import Suppression
from app.suppression import bulk_store
from app.suppression.transfer import importing, writing
from tests.conftest import WRITE, AppMaker
from tests.databases import count_rows
from tests.tcp_proxy import TcpProxy


def lines(first: int, last: int) -> bytes:
    return "".join(f"u{i}@example.com\n" for i in range(first, last + 1)).encode()


class TestOutageMidImport:
    async def test_a_failed_commit_is_503_naming_the_stored_lines(
        self, client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The second batch's write fails as a lost connection does (SQLite and PostgreSQL).
        monkeypatch.setattr(importing, "IMPORT_BATCH", 3)
        insert_new = bulk_store.insert_entries
        calls = 0

        async def lose_second(*args: object, **kwargs: object) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise OperationalError("INSERT", None, ConnectionResetError("reset by peer"))
            await insert_new(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(bulk_store, "insert_entries", lose_second)
        body = b"email\n" + lines(1, 3) + b"not-an-address\n" + lines(4, 9)
        response = await client.post("/v1/suppressions/import", content=body, headers=WRITE)
        assert response.status_code == 503, response.text
        answer = response.json()
        # Lines 2-4 (u1-u3) went in the first batch; line 5 is bad; the rest is not stored.
        assert answer["stored_through_line"] == 4
        assert (answer["inserted"], answer["updated"], answer["unchanged"]) == (3, 0, 0)
        assert "lines 1 to 4 are stored" in answer["error"]
        assert await count_rows(database_url, Suppression) == 3

    @pytest.mark.postgres
    async def test_postgresql_cut_mid_import(
        self, make_client: AppMaker, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(importing, "IMPORT_BATCH", 3)
        direct = make_url(database_url)
        with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
            proxied = direct.set(host="127.0.0.1", port=proxy.port)
            client, _ = await make_client(
                DATABASE_URL=proxied.render_as_string(hide_password=False)
            )

            async def body() -> AsyncIterator[bytes]:
                yield b"email\n" + lines(1, 3) + lines(4, 4)
                for _ in range(200):  # the first batch commits while line 5 is awaited
                    if await count_rows(database_url, Suppression) == 3:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(proxy.cut)
                yield lines(5, 9)

            response = await client.post("/v1/suppressions/import", content=body(), headers=WRITE)
        assert response.status_code == 503, response.text
        assert response.json()["stored_through_line"] == 4
        assert await count_rows(database_url, Suppression) == 3

    async def test_a_failed_analyze_after_every_line_is_stored_is_still_200(
        self, client: httpx.AsyncClient, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # ANALYZE only refreshes the planner's statistics: the lines are all stored by then.
        monkeypatch.setattr(importing, "ANALYZE_AFTER", 2)

        async def lost(database: Database) -> None:
            raise OperationalError("ANALYZE", None, ConnectionResetError("reset by peer"))

        monkeypatch.setattr(writing, "analyze", lost)
        response = await client.post(
            "/v1/suppressions/import", content=b"email\n" + lines(1, 3), headers=WRITE
        )
        assert response.status_code == 200, response.text
        assert response.json()["inserted"] == 3
        assert await count_rows(database_url, Suppression) == 3
