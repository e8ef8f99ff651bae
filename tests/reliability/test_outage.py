"""Outages under load: the database cut away, the SNS certificate host failing.

A live server takes a bounce storm the way SNS delivers it (signed, concurrent) while
its database link is cut, or while the host it fetches signing certificates from
fails. Every answer must be 200 or 503, a 200 only for a committed message, and the
server must recover by itself. SNS then retries every 503, and the final state must
equal a clean, undisturbed pass of the same batch: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.batches import (
    assert_same_state,
    compare,
    make_batch,
    post_in_order,
    snapshot,
    stored_message_ids,
)
from tests.cert_host import CertHost
from tests.conftest import TOPIC, AppMaker
from tests.databases import DatabaseFactory
from tests.figures import record
from tests.live import LiveServer
from tests.ses_payloads import bounce_storm
from tests.signing import SnsSigner, post_args
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.reliability

IN_FLIGHT = 12
# SNS waits 15 s for an answer, then counts the attempt as failed and retries.
SNS_TIMEOUT = 15.0


@dataclass(frozen=True)
class Answer:
    message_id: str
    sent_at: float
    answered_at: float
    status: int  # 0: no HTTP answer at all
    body: str

    @property
    def seconds(self) -> float:
        return self.answered_at - self.sent_at


class Sns:
    """Posts envelopes to a server as SNS does (at most IN_FLIGHT at once); keeps every answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.answers: list[Answer] = []
        self._gate = asyncio.Semaphore(IN_FLIGHT)

    async def post(self, envelope: dict[str, Any]) -> Answer:
        body, headers = post_args(envelope)
        async with self._gate:
            sent = time.monotonic()
            try:
                response = await self.client.post("/sns", content=body, headers=headers)
                status, text = response.status_code, response.text
            except httpx.HTTPError as err:
                status, text = 0, repr(err)
            answer = Answer(envelope["MessageId"], sent, time.monotonic(), status, text)
        self.answers.append(answer)
        return answer

    async def burst(self, envelopes: Sequence[dict[str, Any]]) -> list[Answer]:
        return list(await asyncio.gather(*(self.post(e) for e in envelopes)))

    async def at_rate(self, envelopes: Sequence[dict[str, Any]], rate: float) -> list[Answer]:
        """Open loop: envelope n is due at start + n / rate, however slow the answers."""
        start = time.monotonic()
        posts = []
        for n, envelope in enumerate(envelopes):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            posts.append(asyncio.create_task(self.post(envelope)))
        return list(await asyncio.gather(*posts))

    async def retry(self, envelopes: Sequence[dict[str, Any]], answers: list[Answer]) -> int:
        """Re-post every message not answered 200, as SNS retries, until each is; the posts."""
        by_id = {e["MessageId"]: e for e in envelopes}
        pending = [a.message_id for a in answers if a.status != 200]
        posts = 0
        for _ in range(10):
            if not pending:
                return posts
            again = await self.burst([by_id[m] for m in pending])
            posts += len(again)
            pending = [a.message_id for a in again if a.status != 200]
            await asyncio.sleep(0 if not pending else 1)
        raise AssertionError(f"still refused after 10 rounds: {pending[:5]}")

    def unexpected(self) -> list[Answer]:
        """Answers SNS must never see here: anything but 200 and 503, or a 200 too late."""
        return [
            a
            for a in self.answers
            if a.status not in (200, 503) or (a.status == 200 and a.seconds >= SNS_TIMEOUT)
        ]

    def max_seconds(self) -> float:
        return max(a.seconds for a in self.answers)


def sns_client(url: str) -> httpx.AsyncClient:
    # An idle connection is dropped before uvicorn's 5 s keep-alive ends, so a request
    # never races the server closing it (a failure the test would blame on bouncer).
    limits = httpx.Limits(max_connections=IN_FLIGHT + 2, keepalive_expiry=2.0)
    return httpx.AsyncClient(base_url=url, timeout=30, limits=limits)


def accepted(answers: Sequence[Answer]) -> set[str]:
    return {a.message_id for a in answers if a.status == 200}


def server_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "SNS_TOPIC_ARNS": TOPIC,
        "API_TOKENS": "ops=unused-token-0123456789",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def second_url(databases: DatabaseFactory) -> Iterator[str]:
    url = databases.fresh()
    yield url
    databases.release(url)


@pytest.mark.postgres
class TestDatabaseCut:
    """PostgreSQL reached through a TCP proxy that drops every connection for a stretch."""

    BATCH = 480
    CUT_AFTER = 1.5
    # The load goes on this long after the restore. Its rate, 48-69 a second, is about
    # half of what one server takes on a 2-core box: several requests are in flight
    # when the cut comes, and the run stays short.
    LOAD_AFTER = 2.5

    @pytest.mark.parametrize(
        ("hold", "cut_seconds"),
        [
            # Nothing listens: the database is down or restarting.
            pytest.param(False, 3.0, id="refused"),
            # Connections open but nothing passes (a partition, a stalled failover):
            # each attempt waits out the statement bound (5 s + up to 2 s) or the connect
            # timeout (5 s), so the cut outlasts them with room for a loaded box (at 7 s,
            # beside the suite's other worker, no 503 came back before the restore).
            pytest.param(True, 10.0, id="black-holed"),
        ],
    )
    async def test_cut_under_load_answers_503_then_loses_and_doubles_nothing(
        self,
        hold: bool,
        cut_seconds: float,
        database_url: str,
        second_url: str,
        signer: SnsSigner,
        cert_dir: Path,
        tmp_path: Path,
        make_client: AppMaker,
    ) -> None:
        envelopes = make_batch(signer, self.BATCH, topic_arn=TOPIC)
        direct = make_url(database_url)
        with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
            proxied = direct.set(host="127.0.0.1", port=proxy.port)
            env = server_env(
                proxied.render_as_string(hide_password=False),
                tmp_path,
                SNS_CERT_DIR=str(cert_dir),
            )
            server = LiveServer(env, tmp_path / "server.log")
            try:
                server.wait_ready()
                async with sns_client(server.url) as client:
                    sns = Sns(client)
                    seconds = self.CUT_AFTER + cut_seconds + self.LOAD_AFTER
                    load = asyncio.create_task(sns.at_rate(envelopes, self.BATCH / seconds))
                    await asyncio.sleep(self.CUT_AFTER)
                    cut_started = time.monotonic()
                    await asyncio.to_thread(proxy.cut, hold=hold)
                    cut_at = time.monotonic()
                    ready_in_cut = asyncio.create_task(client.get("/readyz"))
                    await asyncio.sleep(cut_seconds)
                    restored_at = time.monotonic()
                    await asyncio.to_thread(proxy.restore)
                    first = await load
                    ready_during = (await ready_in_cut).status_code
                    # Read straight from PostgreSQL, not through the proxy.
                    stored = await stored_message_ids(database_url)
                    reposted = await sns.retry(envelopes, first)
                    ready_after = (await client.get("/readyz")).status_code
            finally:
                server.stop()
            dropped = proxy.dropped

        in_cut = [a for a in first if a.sent_at >= cut_at and a.answered_at <= restored_at]
        after = sorted((a for a in first if a.sent_at >= restored_at), key=lambda a: a.sent_at)
        recovered = next((a for a in after if a.status == 200), None)

        client, _ = await make_client(DATABASE_URL=second_url)
        await post_in_order(client, envelopes)
        disturbed, clean = await snapshot(database_url), await snapshot(second_url)
        outcome = compare(disturbed, clean)
        record(
            f"outage: database cut ({'black hole' if hold else 'refused'})",
            requests=len(first),
            cut_seconds=cut_seconds,
            in_flight_at_cut=sum(a.sent_at < cut_started < a.answered_at for a in first),
            connections_dropped=dropped,
            answered_503=sum(a.status == 503 for a in first),
            # Committed, but the answer was lost with the connection: SNS's retry is then
            # answered "duplicate". The reverse, a 200 without a commit, must never happen.
            stored_but_503=len(stored - accepted(first)),
            reposted=reposted,
            lost=outcome.lost,
            duplicates=outcome.duplicates,
            final_state_equal=outcome.equal_text,
            recovery_seconds=round(recovered.answered_at - restored_at, 2) if recovered else -1,
            max_answer_seconds=round(sns.max_seconds(), 2),
        )

        output = server.output()
        log = output[-3000:]
        assert "Traceback" not in output, output
        assert sns.unexpected() == [], log
        # A 200 only after the commit: every message answered 200 is in sns_message.
        assert accepted(first) <= stored
        assert dropped > 0
        assert in_cut, "no request was both sent and answered during the cut"
        assert {a.status for a in in_cut} == {503}, [a for a in in_cut if a.status != 503][:3]
        assert ready_during == 503
        # Recovered without a restart: once one answer is 200, every later one is too.
        assert recovered is not None, log
        assert all(a.status == 200 for a in after if a.sent_at >= recovered.sent_at), log
        assert ready_after == 200
        assert_same_state(disturbed, clean)


class TestCertificateHostFailing:
    """The host SigningCertURL names fails (no answer, an endless trickle, no tunnel, a
    reset, a 503) while SNS starts signing with a new certificate."""

    BATCH = 240

    async def test_new_certificate_answers_503_until_its_host_recovers(
        self,
        database_url: str,
        second_url: str,
        signer: SnsSigner,
        cert_dir: Path,
        tmp_path: Path,
        make_client: AppMaker,
    ) -> None:
        rotated = SnsSigner.create(name="test0002")
        third = self.BATCH // 3
        # Before the outage, the current certificate only; from then on, every other
        # message is signed with the new one, as while SNS rotates its certificate.
        envelopes = [
            (rotated if n >= third and n % 2 else signer).make_notification(m, topic_arn=TOPIC)
            for n, m in enumerate(bounce_storm(self.BATCH))
        ]
        signed_by = {e["MessageId"]: e["SigningCertURL"] for e in envelopes}
        new_cert = rotated.cert_url()
        (tmp_path / "tls").mkdir()
        host = CertHost(tmp_path / "tls", {s.cert_filename: s.cert_pem for s in (signer, rotated)})
        # No SNS_CERT_DIR: the server fetches both certificates from the host.
        server = LiveServer(server_env(database_url, tmp_path, **host.env()), tmp_path / "s.log")
        try:
            server.wait_ready()
            async with sns_client(server.url) as client:
                sns = Sns(client)
                before = await sns.burst(envelopes[:third])
                await asyncio.to_thread(host.fail)
                during = await sns.burst(envelopes[third : 2 * third])
                stored_during = await stored_message_ids(database_url)
                await asyncio.to_thread(host.recover)
                recovered_at = time.monotonic()
                after = await sns.burst(envelopes[2 * third :])
                reposted = await sns.retry(envelopes, before + during + after)
                ready = (await client.get("/readyz")).status_code
        finally:
            server.stop()
            host.close()

        first = before + during + after
        recovered = min(
            (
                a.answered_at
                for a in after
                if a.status == 200 and signed_by[a.message_id] == new_cert
            ),
            default=None,
        )
        rotated.write_cert(cert_dir)  # the clean pass reads both from SNS_CERT_DIR
        client, _ = await make_client(DATABASE_URL=second_url)
        await post_in_order(client, envelopes)
        disturbed, clean = await snapshot(database_url), await snapshot(second_url)
        outcome = compare(disturbed, clean)
        record(
            "outage: certificate host",
            requests=len(first),
            answered_503=sum(a.status == 503 for a in first),
            reposted=reposted,
            failed_fetches=host.failed.total(),
            certificate_fetches=host.served.total(),
            lost=outcome.lost,
            duplicates=outcome.duplicates,
            final_state_equal=outcome.equal_text,
            recovery_seconds=round(recovered - recovered_at, 2) if recovered else -1,
            max_answer_seconds=round(sns.max_seconds(), 2),
        )

        output = server.output()
        log = output[-3000:]
        assert "Traceback" not in output, output
        assert sns.unexpected() == [], log
        assert {a.status for a in before} == {200}, log
        # The cached certificate still verifies; the new one cannot be fetched: 503.
        for answer in during:
            expected = 503 if signed_by[answer.message_id] == new_cert else 200
            assert answer.status == expected, (answer, log)
        assert "certificate" in next(a.body for a in during if a.status == 503)
        # Nothing stored for a 503: the certificate is checked before anything is written.
        assert stored_during == accepted(before + during)
        assert {a.status for a in after} == {200}, log
        assert ready == 200
        # Each certificate fetched once it could be (then cached); failed fetches were not
        # cached, so each later message tried again. The first two attempts were slow.
        assert host.served == {signer.cert_filename: 1, rotated.cert_filename: 1}
        assert host.failed["stall"] == host.failed["trickle"] == 1
        assert host.failed.total() > 2
        assert_same_state(disturbed, clean)
