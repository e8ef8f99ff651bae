"""The bare floor (issue #15's): FastAPI, read the body, orjson, verify the SNS signature
against a certificate loaded once, one ``INSERT … ON CONFLICT DO NOTHING`` through an
asyncpg pool. No envelope validation beyond the signature, no SQLAlchemy: the least any
Python SNS endpoint on this stack can do. PostgreSQL only (asyncpg).

    BARE_DATABASE_URL=postgresql://... FLOOR_CERT=/path/cert.pem FLOOR_TOPIC=arn \
        uvicorn bench.bare_floor_app:app --workers N
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import Response

# Its own table, like floor_message (bench/floor_app.create_table makes both).
INSERT = (
    "INSERT INTO bare_floor_message (message_id, topic_arn, message, received_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING"
)
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
_SIGNED = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_HASHES: dict[str, Any] = {"1": hashes.SHA1, "2": hashes.SHA256}

_key = (
    x509.load_pem_x509_certificate(Path(os.environ["FLOOR_CERT"]).read_bytes()).public_key()
    if os.environ.get("FLOOR_CERT")
    else None
)
_topic = os.environ.get("FLOOR_TOPIC", "")
_pool: asyncpg.Pool | None = None
_OK = b'{"status":"processed"}'


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    global _pool
    _pool = await asyncpg.create_pool(os.environ["BARE_DATABASE_URL"], min_size=5, max_size=15)
    try:
        yield
    finally:
        await _pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    assert _pool is not None
    await _pool.fetchval("SELECT 1")
    return {"status": "ok"}


@app.post("/sns")
async def sns(request: Request) -> Response:
    assert _pool is not None
    assert isinstance(_key, rsa.RSAPublicKey)
    message = orjson.loads(await request.body())
    if message.get("TopicArn") != _topic:
        return Response(b'{"error":"topic"}', status_code=403, media_type="application/json")
    signed = "".join(f"{k}\n{message[k]}\n" for k in _SIGNED if k in message).encode()
    try:
        _key.verify(
            base64.b64decode(message["Signature"]),
            signed,
            padding.PKCS1v15(),
            _HASHES[message.get("SignatureVersion", "1")](),
        )
    except Exception:
        return Response(b'{"error":"signature"}', status_code=403, media_type="application/json")
    await _pool.execute(
        INSERT,
        message["MessageId"],
        message["TopicArn"],
        message["Message"],
        datetime.now(UTC).replace(tzinfo=None),
    )
    return Response(_OK, media_type="application/json")
