"""Which SigningCertURL and SubscribeURL bouncer may request, and the signing-certificate store."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from pathlib import Path
from stat import S_ISREG
from urllib.parse import urlsplit

import httpx
from cryptography import x509

from app.errors import CertificateNotAllowed, Forbidden, Unavailable

# SNS serves its certificates and its confirmation links from its regional endpoints only.
# Matched as exact ASCII text, so upper case, a trailing dot, percent-encoding, a backslash
# or an IDN look-alike all fail instead of being "normalised" into an SNS host.
# https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
# https://docs.aws.amazon.com/general/latest/gr/sns.html
_REGION = r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2})"
_HOST = rf"sns\.{_REGION}\.amazonaws\.(?:com|com\.cn|eu)"
_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"
_CERT_URL = re.compile(
    rf"https://{_HOST}(?::443)?/(?:{_SEGMENT}/)*(?P<file>{_SEGMENT}\.pem)", re.ASCII
)
_URL_CHARS = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]"
_SUBSCRIBE_URL = re.compile(
    rf"https://{_HOST}(?::443)?/{_URL_CHARS}*(?:\?(?:{_URL_CHARS}|\?)*)?", re.ASCII
)
_HOST_ONLY = re.compile(_HOST, re.ASCII)
_MAX_CERTIFICATE_BYTES = 64 * 1024


def check_cert_url(url: str) -> str:
    """The region of an allowed SigningCertURL; raises CertificateNotAllowed for any other."""
    match = _CERT_URL.fullmatch(url)
    if match is None:
        raise CertificateNotAllowed(f"SigningCertURL {_why_refused(url, cert=True)}")
    return match["region"]


def check_subscribe_url(url: str, *, topic_region: str) -> None:
    """Raises Forbidden unless ``url`` is an SNS endpoint in the topic's own region."""
    match = _SUBSCRIBE_URL.fullmatch(url)
    if match is None:
        raise Forbidden(f"SubscribeURL {_why_refused(url, cert=False)}; it was not requested")
    if match["region"] != topic_region:
        raise Forbidden(
            f"SubscribeURL is on region {match['region']} but the topic is in {topic_region}; "
            "it was not requested"
        )


def _why_refused(url: str, *, cert: bool) -> str:
    # Only to word the error: the decision above never relies on urlsplit's leniency.
    if not url:
        return "is empty"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{_shown(url)} is not a well-formed URL"
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = re.sub(r":[0-9]*$", "", hostport)
    if parts.scheme != "https":
        return f"{_shown(url)} is not https"
    if userinfo or "@" in parts.netloc:
        return f"{_shown(url)} carries user info"
    if not _HOST_ONLY.fullmatch(host):
        return (
            f"host {_shown(host, quote=False)} is not an SNS host "
            "(sns.<region>.amazonaws.com, .amazonaws.com.cn or .amazonaws.eu)"
        )
    if port not in (None, 443):
        return f"{_shown(url)} names port {port}; only 443 is allowed"
    if cert and parts.query:
        return f"{_shown(url)} carries a query"
    if parts.fragment or "#" in url:
        return f"{_shown(url)} carries a fragment"
    if cert and not parts.path.endswith(".pem"):
        return f"{_shown(url)} does not name a .pem file"
    return f"{_shown(url)} is not a plain https://sns.<region>.amazonaws.com/ URL"


def _shown(text: str, *, quote: bool = True) -> str:
    text = text if len(text) <= 120 else text[:117] + "..."
    # Anything but plain printable ASCII is quoted, so look-alikes and control
    # characters show up as escapes in the error and the logs.
    plain = text.isascii() and text.isprintable() and " " not in text
    return text if plain and not quote else ascii(text)


class CertificateStore:
    """SNS signing certificates: from SNS_CERT_DIR, else an LRU cache, else one verified GET."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        cert_dir: Path | None = None,
        max_entries: int = 64,
        timeout: float = 5.0,
    ) -> None:
        self._http = http
        self._cert_dir = cert_dir
        self._max_entries = max_entries
        self._timeout = timeout
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._fetches: dict[str, asyncio.Task[x509.Certificate]] = {}
        self._files: dict[Path, tuple[tuple[int, int], x509.Certificate]] = {}

    async def get(self, url: str) -> x509.Certificate:
        """Raises CertificateNotAllowed before any request, Unavailable when a fetch fails."""
        check_cert_url(url)
        name = url.rsplit("/", 1)[-1]
        if self._cert_dir is not None:
            local = self._from_dir(self._cert_dir / name)
            if local is not None:
                return local
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        # Concurrent deliveries signed by one new certificate share a single fetch; the
        # shield keeps it running for the others when one caller is cancelled.
        fetch = self._fetches.get(url)
        if fetch is None:
            fetch = asyncio.create_task(self._fetch(url))
            self._fetches[url] = fetch
            fetch.add_done_callback(lambda done: self._fetched(url, done))
        return await asyncio.shield(fetch)

    def _from_dir(self, path: Path) -> x509.Certificate | None:
        """The operator's file for this certificate, or None when there is none.

        Parsed once per version of the file: a stat per message (not a read and a PEM
        parse) notices an operator replacing it, by its modification time and size.
        """
        try:
            stat = path.stat()
        except OSError:
            return None
        if not S_ISREG(stat.st_mode):
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = self._files.get(path)
        if known is not None and known[0] == stamp:
            return known[1]
        certificate = _load_file(path)
        self._files[path] = (stamp, certificate)
        return certificate

    def _fetched(self, url: str, done: asyncio.Task[x509.Certificate]) -> None:
        del self._fetches[url]
        if done.cancelled() or done.exception() is not None:
            return  # a failure is never cached: the next delivery fetches again
        self._cache[url] = done.result()
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)

    async def _fetch(self, url: str) -> x509.Certificate:
        # httpx's timeout bounds each read, not the whole answer: a host that trickles
        # its answer a few bytes at a time would hold every delivery signed with this
        # certificate past SNS's 15 s. The deadline bounds the fetch as a whole.
        try:
            async with asyncio.timeout(self._timeout):
                body = await self._download(url)
        except TimeoutError as err:
            raise _unavailable(url, f"no complete answer within {self._timeout:g} s") from err
        try:
            return x509.load_pem_x509_certificate(body)
        except ValueError as err:
            raise _unavailable(url, "the answer is not a PEM X.509 certificate") from err

    async def _download(self, url: str) -> bytes:
        # Verified TLS is the client's default; redirects are refused so that only the
        # host checked above is ever asked.
        try:
            async with self._http.stream(
                "GET", url, follow_redirects=False, timeout=self._timeout
            ) as response:
                if response.status_code != 200:
                    raise _unavailable(url, f"it answered HTTP {response.status_code}")
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > _MAX_CERTIFICATE_BYTES:
                        raise _unavailable(url, "the answer is too large for a certificate")
                return body
        except httpx.HTTPError as err:
            raise _unavailable(url, f"{type(err).__name__}: {err}") from err


def _unavailable(url: str, reason: str) -> Unavailable:
    return Unavailable(
        f"could not fetch the SNS signing certificate from {url}: {reason}; SNS will retry"
    )


def _load_file(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as err:
        # An operator's file is wrong: answer 503 so SNS retries once it is fixed.
        raise Unavailable(
            f"SNS_CERT_DIR file {path} is not a readable PEM X.509 certificate ({err}); "
            "replace it with the certificate SigningCertURL names"
        ) from err
