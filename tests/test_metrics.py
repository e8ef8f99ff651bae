"""GET /metrics: counted only once committed, one answer across workers, and the list's
gauges read live from the database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import event, func, select, text

from app import scrape
from app.db import Database
from app.models import Event, ReceivedSnsMessage
from tests.conftest import TOPIC, WRITE, AppMaker, replace_services
from tests.live import LiveServer
from tests.outages import unreachable_database
from tests.ses_payloads import bounce, complaint, delivery
from tests.signing import SnsSigner, post_args

COUNTERS = (
    ("bouncer_sns_messages_total", {"type": "Notification", "outcome": "processed"}),
    ("bouncer_ses_events_total", {"type": "Bounce"}),
    ("bouncer_suppressions_added_total", {"reason": "bounce"}),
)


def counters() -> dict[str, float]:
    return {name: REGISTRY.get_sample_value(name, labels) or 0.0 for name, labels in COUNTERS}


def sample(exposition: str, name: str, labels: str = "") -> float | None:
    """The value of ``name{labels}`` in a Prometheus text exposition, or None."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)$"
    found = re.search(pattern, exposition, re.MULTILINE)
    return float(found.group(1)) if found else None


async def post(client: httpx.AsyncClient, signer: SnsSigner, message: str) -> httpx.Response:
    body, headers = post_args(signer.make_notification(message, topic_arn=TOPIC))
    return await client.post("/sns", content=body, headers=headers)


async def rows(database: Database, model: type[ReceivedSnsMessage] | type[Event]) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def fail_after_the_suppression(database: Database) -> None:
    """Make every transaction that adds a suppression fail as an outage does, after the
    statements that add it succeeded: on PostgreSQL at COMMIT, through a constraint trigger
    deferred to it that fails as a server shutting down does (SQLSTATE 57P01); on SQLite,
    whose triggers cannot wait for COMMIT, on the next statement, through a trigger that
    fills a file capped by max_page_count ("database or disk is full")."""
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'terminating connection due to administrator "
                    "command' USING ERRCODE = '57P01'; END $$"
                )
            )
            await connection.execute(
                text(
                    "CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON suppression "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit()"
                )
            )
        return
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE filler (b BLOB)"))
        await connection.execute(
            text(
                "CREATE TRIGGER fill AFTER INSERT ON suppression_change "
                "BEGIN INSERT INTO filler VALUES (randomblob(4000000)); END"
            )
        )
        pages = int((await connection.execute(text("PRAGMA page_count"))).scalar_one())

    @event.listens_for(database.engine.sync_engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={pages + 16}")
        cursor.close()

    await database.engine.dispose()  # the pool's connections reopen with the cap


class TestCountedAfterCommit:
    async def test_a_notification_rolled_back_counts_nothing(
        self, make_client: AppMaker, signer: SnsSigner
    ) -> None:
        client, app = await make_client()
        database: Database = app.state.services.database
        await fail_after_the_suppression(database)
        before = counters()
        response = await post(client, signer, bounce(["ann@example.com"]))
        assert response.status_code == 503, response.text
        assert counters() == before
        assert await rows(database, ReceivedSnsMessage) == 0
        assert await rows(database, Event) == 0


class TestListGauges:
    async def test_entries_by_reason_and_the_24h_rates(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        for message in (
            bounce(["ann@example.com"]),
            bounce(["bob@example.com"]),
            complaint(["cat@example.com"]),
            delivery(["dan@example.com"]),
            delivery(["eve@example.com"]),
        ):
            assert (await post(client, signer, message)).status_code == 200
        put = await client.put(
            "/v1/suppressions/fay@example.com", json={"reason": "manual"}, headers=WRITE
        )
        assert put.status_code == 201, put.text
        scraped = (await client.get("/metrics")).text
        assert sample(scraped, "bouncer_suppression_entries", 'reason="bounce"') == 2
        assert sample(scraped, "bouncer_suppression_entries", 'reason="complaint"') == 1
        assert sample(scraped, "bouncer_suppression_entries", 'reason="manual"') == 1
        assert sample(scraped, "bouncer_suppression_entries", 'reason="soft_bounce"') == 0
        # No sends through bouncer: the events are the denominator, as /v1/stats divides
        # (SPEC §4 Edges): 2 bounces + 1 complaint + 2 deliveries.
        assert sample(scraped, "bouncer_bounce_rate_24h") == 0.4
        assert sample(scraped, "bouncer_complaint_rate_24h") == 0.2
        stats = await client.get("/v1/stats?window=24h", headers=WRITE)
        assert (stats.json()["bounce_rate"], stats.json()["complaint_rate"]) == (0.4, 0.2)

    async def test_cached_between_scrapes(
        self, app: FastAPI, client: httpx.AsyncClient, signer: SnsSigner
    ) -> None:
        first = (await client.get("/metrics")).text
        assert sample(first, "bouncer_suppression_entries", 'reason="bounce"') == 0
        assert sample(first, "bouncer_bounce_rate_24h") is None  # nothing to divide by yet
        assert (await post(client, signer, bounce(["ann@example.com"]))).status_code == 200
        cached = (await client.get("/metrics")).text
        assert sample(cached, "bouncer_suppression_entries", 'reason="bounce"') == 0
        app.state.services.gauges.ttl = 0.0
        fresh = (await client.get("/metrics")).text
        assert sample(fresh, "bouncer_suppression_entries", 'reason="bounce"') == 1

    async def test_database_outage_omits_the_gauges_not_the_counters(
        self, app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        healthy: Database = app.state.services.database
        replace_services(app, database=unreachable_database(healthy.url, tmp_path))
        try:
            response = await client.get("/metrics")
        finally:
            await app.state.services.database.dispose()
            replace_services(app, database=healthy)
        assert response.status_code == 200
        assert "bouncer_suppression_entries" not in response.text
        assert "# bouncer: list gauges omitted: database unreachable" in response.text
        assert "bouncer_sns_messages_total" in response.text
        # The driver's error, as before the boundary, not the boundary's own class.
        assert re.search(r"database unreachable \(\w+Error\)", response.text)
        assert "DatabaseUnavailable" not in response.text


def live_env(database_url: str, tmp_path: Path, cert_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "SNS_CERT_DIR": str(cert_dir),
        "API_TOKENS": "ops=metrics-test-token-0001",
        "LOG_LEVEL": "WARNING",
    }


@pytest.mark.reliability
class TestWorkers:
    async def test_every_scrape_of_two_workers_shows_the_total(
        self, database_url: str, tmp_path: Path, cert_dir: Path, signer: SnsSigner
    ) -> None:
        sent = 24
        server = LiveServer(
            live_env(database_url, tmp_path, cert_dir), tmp_path / "s.log", ["--workers", "2"]
        )
        try:
            server.wait_ready()
            # No keep-alive: each request is a new connection, which either worker accepts.
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
                for n in range(sent):
                    answer = await post(client, signer, bounce([f"user{n}@example.com"]))
                    assert answer.status_code == 200, answer.text
                scrapes = [(await client.get("/metrics")).text for _ in range(12)]
        finally:
            server.stop()
        processed = [
            sample(s, "bouncer_sns_messages_total", 'outcome="processed",type="Notification"')
            for s in scrapes
        ]
        assert processed == [sent] * len(scrapes), server.output()[-2000:]
        entries = [sample(s, "bouncer_suppression_entries", 'reason="bounce"') for s in scrapes]
        assert entries == [sent] * len(scrapes)
        assert "Traceback" not in server.output()


class TestGaugesNeverFailTheScrape:
    async def test_a_schema_without_the_list_omits_the_gauges(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        database: Database = app.state.services.database
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP TABLE suppression"))
        response = await client.get("/metrics")
        assert response.status_code == 200
        assert "bouncer_suppression_entries" not in response.text
        assert "# bouncer: list gauges omitted: database" in response.text


class TestWorkerMetricsFolder:
    def test_a_private_folder_for_several_workers_removed_afterwards(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv(scrape.MULTIPROC_ENV, raising=False)
        with scrape.worker_metrics(2) as folder:
            assert folder is not None
            assert folder.is_dir()
            assert list(folder.iterdir()) == []
            assert scrape.multiprocess_dir() == folder
        assert not folder.exists()
        assert scrape.multiprocess_dir() is None

    def test_the_operators_folder_is_emptied_of_earlier_runs(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        (tmp_path / "counter_123.db").write_bytes(b"old counts")
        (tmp_path / "notes.txt").write_text("kept")
        monkeypatch.setenv(scrape.MULTIPROC_ENV, str(tmp_path))
        with scrape.worker_metrics(4) as folder:
            assert folder == tmp_path
            assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
        assert tmp_path.is_dir()

    def test_one_worker_needs_no_folder(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(scrape.MULTIPROC_ENV, raising=False)
        with scrape.worker_metrics(1) as folder:
            assert folder is None
