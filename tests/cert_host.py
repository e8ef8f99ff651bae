"""SNS's certificate host, as a live server reaches it through its HTTPS proxy.

A live server fetches SigningCertURL over verified TLS from
https://sns.<region>.amazonaws.com/. The standard egress settings every HTTP client
honours, HTTPS_PROXY and SSL_CERT_FILE (``CertHost.env()``), make that fetch land
here: a CONNECT proxy that terminates TLS with a certificate for the SNS host, signed by
a throw-away CA the server is told to trust, and answers with the PEMs it was given,
or fails on demand, as the real host or the path to it may.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.tcp_proxy import TcpServer

# How the host fails while ``failing``. The slow ones come first, once each: a stall
# (no answer at all) and a trickle (a 200 whose body comes a few bytes a second, so no
# single read ever times out). Then, in turn, the fast ones: the proxy unable to reach
# the host, a reset, and the host answering 503.
SLOW_FAILURES = ("stall", "trickle")
FAST_FAILURES = ("unreachable", "reset", "error")
TRICKLE_INTERVAL = 0.5


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    certificate: Path
    key: Path


def make_tls_files(directory: Path, hosts: list[str]) -> TlsFiles:
    """A CA and a server certificate for ``hosts`` it signed, as PEM files."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bouncer test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "host.pem", directory / "host.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class CertHost:
    """Serves ``pems`` (file name -> PEM) at https://``host``/<name>, or fails on demand."""

    def __init__(
        self,
        directory: Path,
        pems: Mapping[str, bytes],
        *,
        host: str = "sns.us-east-1.amazonaws.com",
    ) -> None:
        self.host = host
        self.pems = dict(pems)
        self.tls = make_tls_files(directory, [host])
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(self.tls.certificate, self.tls.key)
        self.failing = False
        self._failures: Iterator[str] = iter(())
        self.served: Counter[str] = Counter()  # file name -> certificates handed out
        self.failed: Counter[str] = Counter()  # failure -> fetches it failed
        self._server = TcpServer(self._handle, name="cert-host")

    def env(self) -> dict[str, str]:
        """The settings that send a server's HTTPS through this host and trust its CA."""
        proxy = f"http://127.0.0.1:{self._server.port}"
        return {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "SSL_CERT_FILE": str(self.tls.ca),
        }

    def fail(self, *, slow: bool = True) -> None:
        """Fail every fetch from now on: SLOW_FAILURES first (when ``slow``), then
        FAST_FAILURES in turn."""
        self._server.run(self._set_failing(slow=slow))

    def recover(self) -> None:
        self._server.run(self._set_recovered())

    async def _set_failing(self, *, slow: bool) -> None:
        first = SLOW_FAILURES if slow else ()
        self._failures = itertools.chain(first, itertools.cycle(FAST_FAILURES))
        self.failing = True

    async def _set_recovered(self) -> None:
        self.failing = False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, target = _request_line(await reader.readuntil(b"\r\n\r\n"))
        if method != "CONNECT" or target != f"{self.host}:443":
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        failure = next(self._failures) if self.failing else None
        if failure is not None:
            self.failed[failure] += 1
        if failure == "unreachable":
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        if failure == "reset":
            writer.transport.abort()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(self._context)
        method, path = _request_line(await reader.readuntil(b"\r\n\r\n"))
        name = path.lstrip("/")
        if failure == "stall":
            await reader.read()  # until the client gives up
            return
        if failure == "trickle":
            await _trickle(reader, writer, self.pems.get(name, b"no such certificate"))
            return
        if failure == "error":
            status, body = "503 Service Unavailable", b"slow down"
        elif method == "GET" and name in self.pems:
            status, body = "200 OK", self.pems[name]
            self.served[name] += 1
        else:
            status, body = "404 Not Found", b"no such certificate"
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()

    def close(self) -> None:
        self._server.close()


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> None:
    """A 200 with ``body`` a byte at a time, until it is all sent or the client leaves."""
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    for byte in body:
        if reader.at_eof() or writer.transport.is_closing():
            return
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(TRICKLE_INTERVAL)


def _request_line(head: bytes) -> tuple[str, str]:
    method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    return method, target
