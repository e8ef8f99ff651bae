"""The floor: the least a correct SNS endpoint can do per notification.

Read the body, parse the envelope, verify the signature against a certificate loaded once,
one INSERT (idempotent on MessageId) in its own transaction, answer 200. Same database
engine settings as bouncer (app.db.make_engine: pool, SQLite WAL + BEGIN IMMEDIATE), same
uvicorn, no middleware. bouncer's ingest throughput is reported as a ratio of this.

    FLOOR_DATABASE_URL=... FLOOR_CERT=/path/cert.pem uvicorn bench.floor_app:app --workers N
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_engine
from app.errors import EnvelopeInvalid
from app.settings import normalize_database_url
from app.sns.envelope import parse_envelope
from app.sns.signature import verify_signature

TABLE_DDL = (
    "CREATE TABLE IF NOT EXISTS floor_message ("
    " message_id VARCHAR(128) PRIMARY KEY,"
    " topic_arn VARCHAR(256) NOT NULL,"
    " message TEXT NOT NULL,"
    " received_at TIMESTAMP NOT NULL)"
)
BARE_TABLE_DDL = TABLE_DDL.replace("floor_message", "bare_floor_message")
INSERT = text(
    "INSERT INTO floor_message (message_id, topic_arn, message, received_at)"
    " VALUES (:id, :topic, :message, :at) ON CONFLICT (message_id) DO NOTHING"
)


async def create_table(url: str) -> None:
    """Run once before the workers start (two workers racing CREATE TABLE would fail); on
    PostgreSQL the bare floor's table too (bench/bare_floor_app.py)."""
    engine = make_engine(normalize_database_url(url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text(TABLE_DDL))
            if engine.dialect.name == "postgresql":
                await conn.execute(text(BARE_TABLE_DDL))
    finally:
        await engine.dispose()


_engine: AsyncEngine | None = None
_cert = (
    x509.load_pem_x509_certificate(Path(os.environ.get("FLOOR_CERT", "/dev/null")).read_bytes())
    if os.environ.get("FLOOR_CERT")
    else None
)
_topic = os.environ.get("FLOOR_TOPIC", "")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global _engine
    _engine = make_engine(normalize_database_url(os.environ["FLOOR_DATABASE_URL"]))
    try:
        yield
    finally:
        await _engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    assert _engine is not None
    async with _engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.post("/sns")
async def sns(request: Request) -> JSONResponse:
    assert _engine is not None
    assert _cert is not None
    body = await request.body()
    try:
        message = parse_envelope(body, request.headers)
    except EnvelopeInvalid as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    if message.topic_arn != _topic:
        return JSONResponse({"error": "topic not allowed"}, status_code=403)
    try:
        verify_signature(message=message, certificate=_cert)
    except Exception as err:
        return JSONResponse({"error": str(err)}, status_code=403)
    async with _engine.begin() as conn:
        await conn.execute(
            INSERT,
            {
                "id": message.message_id,
                "topic": message.topic_arn,
                "message": message.message,
                "at": datetime.now(UTC).replace(tzinfo=None),
            },
        )
    return JSONResponse({"status": "processed"})
