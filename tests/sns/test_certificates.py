"""The SigningCertURL and SubscribeURL host rules, and the certificate store."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.errors import CertificateNotAllowed, Forbidden, Unavailable
from app.sns import certificates
from app.sns.certificates import CertificateStore, check_cert_url, check_subscribe_url
from tests.signing import SnsSigner
from tests.sns.conftest import GENUINE, Genuine, RecordingHost

PEM = "SimpleNotificationService-0123abcd.pem"
GOOD = f"https://sns.us-east-1.amazonaws.com/{PEM}"

HOSTILE_CERT_URLS = {
    "http": f"http://sns.us-east-1.amazonaws.com/{PEM}",
    "suffix host": f"https://sns.us-east-1.amazonaws.com.evil.com/{PEM}",
    "host in path": f"https://evil.com/sns.us-east-1.amazonaws.com/{PEM}",
    "userinfo trick": f"https://sns.us-east-1.amazonaws.com@evil.com/{PEM}",
    "userinfo": f"https://user:pw@sns.us-east-1.amazonaws.com/{PEM}",
    "port with userinfo": f"https://sns.us-east-1.amazonaws.com:443@evil.com/{PEM}",
    "port 8443": f"https://sns.us-east-1.amazonaws.com:8443/{PEM}",
    "port 80": f"https://sns.us-east-1.amazonaws.com:80/{PEM}",
    "port 0443": f"https://sns.us-east-1.amazonaws.com:0443/{PEM}",
    "empty port": f"https://sns.us-east-1.amazonaws.com:/{PEM}",
    "s3": f"https://s3.amazonaws.com/bucket/{PEM}",
    "no region": f"https://sns.amazonaws.com/{PEM}",
    "other tld": f"https://sns.us-east-1.amazonaws.org/{PEM}",
    "cn suffix": f"https://sns.cn-north-1.amazonaws.com.cn.evil.com/{PEM}",
    "not pem": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.crt",
    "pem then more": f"https://sns.us-east-1.amazonaws.com/{PEM}.txt",
    "root path": "https://sns.us-east-1.amazonaws.com/",
    "no path": "https://sns.us-east-1.amazonaws.com",
    "dot segment": f"https://sns.us-east-1.amazonaws.com/../{PEM}",
    "encoded path": "https://sns.us-east-1.amazonaws.com/x%2Epem",
    "query": f"https://sns.us-east-1.amazonaws.com/{PEM}?a=b",
    "empty query": f"https://sns.us-east-1.amazonaws.com/{PEM}?",
    "query ending pem": f"https://sns.us-east-1.amazonaws.com/?x={PEM}",
    "fragment": f"https://sns.us-east-1.amazonaws.com/{PEM}#x",
    "empty fragment": f"https://sns.us-east-1.amazonaws.com/{PEM}#",
    "upper host": f"https://SNS.us-east-1.amazonaws.com/{PEM}",
    "upper region": f"https://sns.US-EAST-1.amazonaws.com/{PEM}",
    "upper scheme": f"HTTPS://sns.us-east-1.amazonaws.com/{PEM}",
    "cyrillic s": f"https://\u0455ns.us-east-1.amazonaws.com/{PEM}",
    "cyrillic a": f"https://sns.us-east-1.\u0430mazonaws.com/{PEM}",
    "fullwidth dot": f"https://sns.us-east-1.amazonaws\u3002com/{PEM}",
    "punycode": f"https://sns.us-east-1.xn--amazonws-4cg.com/{PEM}",
    "trailing dot": f"https://sns.us-east-1.amazonaws.com./{PEM}",
    "encoded host": f"https://sns.us-east-1.amazonaws%2Ecom/{PEM}",
    "encoded letter": f"https://%73ns.us-east-1.amazonaws.com/{PEM}",
    "backslash userinfo": f"https://sns.us-east-1.amazonaws.com\\@evil.com/{PEM}",
    "backslash host": f"https://evil.com\\sns.us-east-1.amazonaws.com/{PEM}",
    "backslash path": f"https://sns.us-east-1.amazonaws.com\\{PEM}",
    "empty": "",
    "space": " ",
    "leading space": f" {GOOD}",
    "trailing newline": f"{GOOD}\n",
    "nul": f"{GOOD}\x00",
    "scheme relative": f"//sns.us-east-1.amazonaws.com/{PEM}",
    "no slashes": f"https:sns.us-east-1.amazonaws.com/{PEM}",
    "three slashes": f"https:///sns.us-east-1.amazonaws.com/{PEM}",
    "ipv6": f"https://[::1]/{PEM}",
    "ip": f"https://52.94.0.1/{PEM}",
    "bad bracket": f"https://[sns.us-east-1.amazonaws.com/{PEM}",
}


class TestCheckCertUrl:
    @pytest.mark.parametrize(
        ("url", "region"),
        [
            (GOOD, "us-east-1"),
            (f"https://sns.us-east-1.amazonaws.com:443/{PEM}", "us-east-1"),
            (f"https://sns.cn-north-1.amazonaws.com.cn/{PEM}", "cn-north-1"),
            (f"https://sns.us-gov-west-1.amazonaws.com/{PEM}", "us-gov-west-1"),
            (f"https://sns.eusc-de-east-1.amazonaws.eu/{PEM}", "eusc-de-east-1"),
            (f"https://sns.ap-southeast-3.amazonaws.com/a/b/{PEM}", "ap-southeast-3"),
        ],
    )
    def test_allows_sns_hosts(self, url: str, region: str) -> None:
        assert check_cert_url(url) == region

    @pytest.mark.parametrize("name", GENUINE)
    def test_allows_every_genuine_url(self, name: str) -> None:
        check_cert_url(Genuine(name).cert_url)

    @pytest.mark.parametrize("url", HOSTILE_CERT_URLS.values(), ids=HOSTILE_CERT_URLS.keys())
    def test_refuses(self, url: str) -> None:
        with pytest.raises(CertificateNotAllowed, match=r"^SigningCertURL "):
            check_cert_url(url)

    def test_names_a_foreign_host(self) -> None:
        with pytest.raises(CertificateNotAllowed) as caught:
            check_cert_url(HOSTILE_CERT_URLS["host in path"])
        assert caught.value.message.startswith("SigningCertURL host evil.com is not an SNS host")

    @pytest.mark.parametrize(
        ("case", "words"),
        [
            ("http", "is not https"),
            ("userinfo trick", "carries user info"),
            ("port 8443", "names port 8443; only 443 is allowed"),
            ("query", "carries a query"),
            ("fragment", "carries a fragment"),
            ("not pem", "does not name a .pem file"),
            ("empty", "is empty"),
            ("cyrillic s", "host '\\\\u0455ns"),
        ],
    )
    def test_says_what_is_wrong(self, case: str, words: str) -> None:
        with pytest.raises(CertificateNotAllowed, match=words):
            check_cert_url(HOSTILE_CERT_URLS[case])


class TestCheckSubscribeUrl:
    TOKEN_URL = (
        "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription"
        "&TopicArn=arn:aws:sns:eu-central-1:123456789012:ses&Token=2336412f37fb"
    )

    def test_allows_the_topics_region_with_a_query(self) -> None:
        check_subscribe_url(self.TOKEN_URL, topic_region="eu-central-1")

    def test_refuses_another_region(self) -> None:
        with pytest.raises(Forbidden, match="region eu-central-1 but the topic is in us-east-1"):
            check_subscribe_url(self.TOKEN_URL, topic_region="us-east-1")

    @pytest.mark.parametrize(
        "url",
        [
            "http://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription",
            "https://evil.com/?Action=ConfirmSubscription",
            "https://sns.eu-central-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
            "https://sns.eu-central-1.amazonaws.com@evil.com/?Action=ConfirmSubscription",
            "https://sns.eu-central-1.amazonaws.com:8443/?Action=ConfirmSubscription",
            "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription#x",
            "https://sns.eu-central-1.amazonaws.com\\@evil.com/",
            "https://SNS.eu-central-1.amazonaws.com/",
            "https://sns.eu-central-1.amazonaws.com./",
            "https://sns.eu-central-1.amazonaws.com/?a=b c",
            "https://sns.eu-central-1.amazonaws.com/?a=\n",
            "",
        ],
    )
    def test_refuses_foreign_or_odd_urls(self, url: str) -> None:
        with pytest.raises(Forbidden, match=r"^SubscribeURL .*it was not requested$"):
            check_subscribe_url(url, topic_region="eu-central-1")


def pem_host(signer: SnsSigner) -> RecordingHost:
    return RecordingHost(lambda request: httpx.Response(200, content=signer.cert_pem))


class TestCertificateStoreRefusals:
    @pytest.mark.parametrize("url", HOSTILE_CERT_URLS.values(), ids=HOSTILE_CERT_URLS.keys())
    async def test_a_hostile_url_is_refused_before_any_request(
        self, url: str, host: RecordingHost, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        store = CertificateStore(http, cert_dir=cert_dir)
        with pytest.raises(CertificateNotAllowed):
            await store.get(url)
        assert host.requests == []


class TestCertificateStoreFetching:
    async def test_fetches_once_then_serves_from_the_cache(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = pem_host(signer).answer
        store = CertificateStore(http, timeout=2.5)
        url = signer.cert_url()
        first = await store.get(url)
        second = await store.get(url)
        assert first == second == signer.certificate
        assert [str(r.url) for r in host.requests] == [url]
        assert host.requests[0].method == "GET"
        assert host.requests[0].extensions["timeout"]["read"] == 2.5

    @pytest.mark.parametrize(
        "answer",
        [
            lambda request: httpx.Response(500),
            lambda request: httpx.Response(404, text="Not Found"),
            lambda request: httpx.Response(200, text="<html>maintenance</html>"),
            lambda request: httpx.Response(200, content=b""),
            lambda request: httpx.Response(200, content=b"-" * (65 * 1024)),
        ],
        ids=["500", "404", "html", "empty", "huge"],
    )
    async def test_a_bad_answer_is_unavailable_and_not_cached(
        self,
        signer: SnsSigner,
        host: RecordingHost,
        http: httpx.AsyncClient,
        answer: RecordingHost,
    ) -> None:
        host.answer = answer
        store = CertificateStore(http)
        with pytest.raises(Unavailable, match="could not fetch the SNS signing certificate from"):
            await store.get(signer.cert_url())
        host.answer = pem_host(signer).answer
        assert await store.get(signer.cert_url()) == signer.certificate
        assert len(host.requests) == 2

    @pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadTimeout, httpx.ConnectTimeout])
    async def test_a_network_failure_is_unavailable_and_not_cached(
        self,
        signer: SnsSigner,
        host: RecordingHost,
        http: httpx.AsyncClient,
        error: type[httpx.TransportError],
    ) -> None:
        def fail(request: httpx.Request) -> httpx.Response:
            raise error("boom", request=request)

        host.answer = fail
        store = CertificateStore(http)
        with pytest.raises(Unavailable, match=r"SNS will retry$") as caught:
            await store.get(signer.cert_url())
        assert isinstance(caught.value.__cause__, error)
        host.answer = pem_host(signer).answer
        assert await store.get(signer.cert_url()) == signer.certificate
        assert len(host.requests) == 2

    @pytest.mark.parametrize("status", [301, 302, 307, 308])
    async def test_a_redirect_is_not_followed(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, status: int
    ) -> None:
        host.answer = lambda request: httpx.Response(
            status, headers={"Location": "https://evil.com/x.pem"}
        )
        with pytest.raises(Unavailable, match=f"answered HTTP {status}"):
            await CertificateStore(http).get(signer.cert_url())
        assert len(host.requests) == 1

    async def test_a_der_certificate_is_not_pem(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        host.answer = lambda request: httpx.Response(200, content=der)
        with pytest.raises(Unavailable, match=r"not a PEM X\.509 certificate"):
            await CertificateStore(http).get(signer.cert_url())

    async def test_the_cache_is_a_bounded_lru(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient
    ) -> None:
        host.answer = pem_host(signer).answer
        store = CertificateStore(http, max_entries=2)
        a, b, c = (f"https://sns.us-east-1.amazonaws.com/{n}.pem" for n in "abc")

        async def fetched(url: str) -> bool:
            before = len(host.requests)
            await store.get(url)
            return len(host.requests) > before

        assert [await fetched(u) for u in (a, b, a)] == [True, True, False]
        assert await fetched(c)  # evicts b, the least recently used
        assert [await fetched(u) for u in (a, c)] == [False, False]
        assert await fetched(b)

    async def test_concurrent_gets_share_one_fetch(
        self, signer: SnsSigner, host: RecordingHost
    ) -> None:
        async def slow(request: httpx.Request) -> httpx.Response:
            host.requests.append(request)
            await asyncio.sleep(0.01)
            return httpx.Response(200, content=signer.cert_pem)

        async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
            store = CertificateStore(http)
            results = await asyncio.gather(*(store.get(signer.cert_url()) for _ in range(10)))
        assert all(result == signer.certificate for result in results)
        assert len(host.requests) == 1

    async def test_concurrent_gets_share_one_failure_then_retry(
        self, signer: SnsSigner, host: RecordingHost
    ) -> None:
        answers = [httpx.Response(503), httpx.Response(200, content=signer.cert_pem)]

        async def flaky(request: httpx.Request) -> httpx.Response:
            host.requests.append(request)
            await asyncio.sleep(0.01)
            return answers.pop(0)

        async with httpx.AsyncClient(transport=httpx.MockTransport(flaky)) as http:
            store = CertificateStore(http)
            gets = [store.get(signer.cert_url()) for _ in range(5)]
            results = await asyncio.gather(*gets, return_exceptions=True)
            assert all(isinstance(result, Unavailable) for result in results)
            assert await store.get(signer.cert_url()) == signer.certificate
        assert len(host.requests) == 2

    async def test_a_cancelled_caller_does_not_cancel_the_others(
        self, signer: SnsSigner, host: RecordingHost
    ) -> None:
        release = asyncio.Event()

        async def gated(request: httpx.Request) -> httpx.Response:
            host.requests.append(request)
            await release.wait()
            return httpx.Response(200, content=signer.cert_pem)

        async with httpx.AsyncClient(transport=httpx.MockTransport(gated)) as http:
            store = CertificateStore(http)
            first = asyncio.create_task(store.get(signer.cert_url()))
            second = asyncio.create_task(store.get(signer.cert_url()))
            await asyncio.sleep(0.01)
            first.cancel()
            release.set()
            assert await second == signer.certificate
            with pytest.raises(asyncio.CancelledError):
                await first
        assert len(host.requests) == 1


class TestCertificateStoreDirectory:
    async def test_a_file_named_like_the_url_is_used_without_a_request(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        store = CertificateStore(http, cert_dir=cert_dir)
        for region in ("us-east-1", "eu-west-1", "cn-north-1"):
            url = signer.cert_url(region)
            if region.startswith("cn-"):
                url = url.replace(".amazonaws.com/", ".amazonaws.com.cn/")
            assert await store.get(url) == signer.certificate
        assert host.requests == []

    async def test_other_names_are_fetched(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        host.answer = pem_host(signer).answer
        store = CertificateStore(http, cert_dir=cert_dir)
        await store.get("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-new.pem")
        assert len(host.requests) == 1

    async def test_a_broken_file_is_unavailable_not_fetched(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, cert_dir: Path
    ) -> None:
        (cert_dir / signer.cert_filename).write_text("not a certificate")
        with pytest.raises(Unavailable, match=r"SNS_CERT_DIR file .* is not a readable PEM"):
            await CertificateStore(http, cert_dir=cert_dir).get(signer.cert_url())
        assert host.requests == []

    async def test_a_replaced_file_is_read_again_and_a_kept_one_is_not(
        self,
        signer: SnsSigner,
        host: RecordingHost,
        http: httpx.AsyncClient,
        cert_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        reads: list[Path] = []
        load = certificates._load_file

        def counting_load(path: Path) -> x509.Certificate:
            reads.append(path)
            return load(path)

        monkeypatch.setattr(certificates, "_load_file", counting_load)
        store = CertificateStore(http, cert_dir=cert_dir)
        path = cert_dir / signer.cert_filename
        for _ in range(3):
            assert await store.get(signer.cert_url()) == signer.certificate
        assert reads == [path]  # one read and parse for three messages
        # An operator rotating the file: the new certificate is used at once.
        other = SnsSigner.create()
        path.write_bytes(other.certificate.public_bytes(serialization.Encoding.PEM))
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
        assert await store.get(signer.cert_url()) == other.certificate
        assert reads == [path, path]
        assert host.requests == []

    async def test_a_directory_with_that_name_is_not_a_file(
        self, signer: SnsSigner, host: RecordingHost, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        (tmp_path / signer.cert_filename).mkdir()
        host.answer = pem_host(signer).answer
        store = CertificateStore(http, cert_dir=tmp_path)
        assert await store.get(signer.cert_url()) == signer.certificate
        assert len(host.requests) == 1
