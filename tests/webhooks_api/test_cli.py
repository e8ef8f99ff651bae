"""``bouncer webhooks list|add|remove|test``: the same endpoints as /v1/webhooks, from a
terminal; ``test`` pings a live receiver on a loopback socket, which verifies the
signature with the secret ``add`` printed."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from typer.testing import Result

from app.models import ChangeEvent, WebhookDelivery
from tests.cli_runs import invoke
from tests.databases import count_rows, run_isolated
from tests.live import free_port
from tests.webhooks_api.receiver import running_receiver


def _env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url}


def _add(database_url: str, url: str, *args: str) -> dict[str, Any]:
    done = invoke(_env(database_url), "webhooks", "add", url, *args, "--format", "json")
    assert done.exit_code == 0, done.output
    added: dict[str, Any] = json.loads(done.stdout)
    return added


def _list(database_url: str) -> list[dict[str, Any]]:
    done = invoke(_env(database_url), "webhooks", "list", "--format", "json")
    assert done.exit_code == 0, done.output
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


class TestAdd:
    def test_prints_the_id_and_the_secret_once(self, database_url: str) -> None:
        done = invoke(
            _env(database_url),
            "webhooks", "add", "https://hooks.example.com/in?key=k1",
            "--type", "suppression.removed", "--type", "suppression.added",
        )  # fmt: skip
        assert done.exit_code == 0, done.output
        lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
        assert re.fullmatch(r"wh_[0-9a-f]{32}", lines["id"])
        assert lines["secret"].startswith("whsec_")
        assert lines["types"] == "suppression.added suppression.removed"
        assert "shown this once" in done.stderr
        assert done.stderr.startswith("database: ")

        [row] = _list(database_url)
        assert row["id"] == lines["id"]
        assert row["url"] == "https://hooks.example.com/in?key=k1"
        assert row["types"] == ["suppression.added", "suppression.removed"]
        assert (row["status"], row["created_by"]) == ("active", "cli")
        listed = invoke(_env(database_url), "webhooks", "list")
        assert lines["secret"] not in listed.stdout + listed.stderr
        assert lines["id"] in listed.stdout

    def test_json_is_the_apis_answer(self, database_url: str) -> None:
        added = _add(database_url, "http://127.0.0.1:9/x")
        assert set(added) == {
            "id", "url", "types", "status", "failing_since", "last_error", "created_at",
            "created_by", "secret",
        }  # fmt: skip
        assert len(added["types"]) == 5
        assert datetime.fromisoformat(added["created_at"]) <= datetime.now(UTC)

    @pytest.mark.parametrize(
        ("args", "says"),
        [
            (("ftp://hooks.example.com/",), "url must start with http"),
            (("https://hooks.example.com/#x",), "fragment"),
            (("https://hooks.example.com:70000/",), "Port out of range"),
            (("https://hooks.example.com/\x1b[2J",), "control characters"),
            (("http://256.1.1.1/",), "url has a host"),
            (("https://hooks.example.com/", "--type", "suppression.gone"), "unknown"),
            (("https://hooks.example.com/", "--type", ""), "unknown"),
        ],
    )
    def test_bad_input_is_exit_2_and_nothing_stored(
        self, database_url: str, args: tuple[str, ...], says: str
    ) -> None:
        done = invoke(_env(database_url), "webhooks", "add", *args)
        assert done.exit_code == 2, done.output
        assert says in done.stderr
        assert "whsec_" not in done.stdout + done.stderr
        assert _list(database_url) == []


class TestListAndRemove:
    def test_list_empty_then_a_table(self, database_url: str) -> None:
        assert _list(database_url) == []
        added = _add(database_url, "https://hooks.example.com/in")
        table = invoke(_env(database_url), "webhooks", "list")
        assert table.exit_code == 0
        for word in ("id", "url", "types", "status", added["id"], "active", "cli"):
            assert word in table.stdout
        csv = invoke(_env(database_url), "webhooks", "list", "--format", "csv")
        assert csv.stdout.splitlines()[0] == (
            "id,url,types,status,failing_since,last_error,created_at,created_by"
        )

    def test_remove_then_no_such_webhook(self, database_url: str) -> None:
        kept = _add(database_url, "https://a.example/")
        gone = _add(database_url, "https://b.example/")
        done = invoke(_env(database_url), "webhooks", "remove", gone["id"])
        assert done.exit_code == 0, done.output
        assert done.stdout == f"removed {gone['id']}\n"
        assert [r["id"] for r in _list(database_url)] == [kept["id"]]
        again = invoke(_env(database_url), "webhooks", "remove", gone["id"])
        assert again.exit_code == 1
        assert f"no webhook {gone['id']}" in again.stderr

    @pytest.mark.parametrize("webhook_id", ["nope", "wh_" + "0" * 32, "x" * 5000, "..", "a\x00b"])
    def test_garbage_ids_are_no_such_webhook(self, database_url: str, webhook_id: str) -> None:
        kept = _add(database_url, "https://a.example/")
        for command in ("remove", "test"):
            done = invoke(_env(database_url), "webhooks", command, webhook_id)
            assert done.exit_code == 1, done.output
            assert "no " in done.stderr
            assert len(done.stderr) < 300
        assert [r["id"] for r in _list(database_url)] == [kept["id"]]


class TestPing:
    def test_a_live_receiver_verifies_the_signed_ping(self, database_url: str) -> None:
        with running_receiver("/hook?token=t0ps3cret") as receiver:
            added = _add(database_url, receiver.url)
            done = invoke(_env(database_url), "webhooks", "test", added["id"])
        assert done.exit_code == 0, done.output
        [request] = receiver.requests
        assert request.path == "/hook?token=t0ps3cret"
        event = Webhook(added["secret"]).verify(request.body, request.headers)
        assert event["type"] == "ping"
        assert event["data"] == {}
        assert datetime.fromisoformat(event["timestamp"]) <= datetime.now(UTC)
        webhook_id = request.headers["webhook-id"]
        assert re.fullmatch(r"ping_[0-9a-f]{32}", webhook_id)
        assert request.headers["content-type"] == "application/json"
        port = receiver.url.split(":")[2].split("/")[0]
        assert done.stdout == (
            f"{added['id']} (http://127.0.0.1:{port}): ping {webhook_id} answered 204\n"
        )
        assert "t0ps3cret" not in done.stdout + done.stderr
        # Another endpoint's secret does not verify it: the signature is the endpoint's.
        other = _add(database_url, "https://other.example/")
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Webhook(other["secret"]).verify(request.body, request.headers)
        # Nothing is recorded: a ping is no delivery, and no event of the feed.
        assert run_isolated(lambda: count_rows(database_url, WebhookDelivery)) == 0
        assert run_isolated(lambda: count_rows(database_url, ChangeEvent)) == 0

    def test_a_non_2xx_answer_is_exit_1_with_the_answer(self, database_url: str) -> None:
        with running_receiver() as receiver:
            receiver.status, receiver.reply = 401, b"bad signature"
            added = _add(database_url, receiver.url)
            done = invoke(_env(database_url), "webhooks", "test", added["id"])
        assert len(receiver.requests) == 1  # once: no retry
        assert done.exit_code == 1, done.output
        assert done.stdout == ""
        assert "failed: answered 401: bad signature" in done.stderr

    def test_a_redirect_is_not_followed(self, database_url: str) -> None:
        with running_receiver() as receiver:
            receiver.status = 307
            added = _add(database_url, receiver.url)
            done = invoke(_env(database_url), "webhooks", "test", added["id"])
        assert done.exit_code == 1
        assert "answered 307" in done.stderr

    def test_a_closed_port_is_exit_1_saying_nothing_answered(self, database_url: str) -> None:
        added = _add(database_url, f"http://user:pw@127.0.0.1:{free_port()}/hook")
        done = invoke(_env(database_url), "webhooks", "test", added["id"])
        assert done.exit_code == 1, done.output
        assert done.stdout == ""
        line = done.stderr.splitlines()[-1]
        assert line.startswith(f"error: {added['id']} (http://127.0.0.1:")
        assert "no answer: ConnectError" in line
        assert "is the receiver running" in line
        assert "pw" not in done.stderr

    def test_a_trickling_receiver_does_not_hold_it_past_its_time(self, database_url: str) -> None:
        # Headers a byte every 0.2 s: each read comes within the client's per-read time-out,
        # the answer never. The try as a whole is bounded, as a delivery's is.
        with _trickling_server() as port:
            added = _add(database_url, f"http://127.0.0.1:{port}/hook")
            started = time.monotonic()
            done = invoke(
                {**_env(database_url), "WEBHOOK_TIMEOUT_SECONDS": "1"}, "webhooks", "test",
                added["id"],
            )  # fmt: skip
            took = time.monotonic() - started
        assert done.exit_code == 1, done.output
        assert "no answer in time" in done.stderr
        assert took < 10, took  # the trickle lasts 30 s


@contextmanager
def _trickling_server() -> Iterator[int]:
    """A loopback server that reads a request and answers its headers a byte at a time
    for 30 s, until the client goes; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)  # no client (a failure before the try): the thread ends
    stop = threading.Event()

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X" * 150:
                if stop.wait(0.2):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return  # the client went: what the test waits for

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=10)


def test_every_command_needs_an_existing_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "bouncr.db"
    for command in (
        ("list",), ("add", "https://a.example/"), ("remove", "wh_" + "0" * 32),
        ("test", "wh_" + "0" * 32),
    ):  # fmt: skip
        done: Result = invoke({"DATABASE_URL": f"sqlite:///{missing}"}, "webhooks", *command)
        assert done.exit_code == 3, done.output
        assert f"no database at sqlite+aiosqlite:///{missing}" in done.stderr
    assert not missing.parent.exists()
