"""Status list rules of issue 11, against a real httpd and this test's own HTTPS list server:
a failed fetch under one vhost's fetch configuration never stands in for another vhost's
fetch; a list's own ttl bounds how long it is cached (DCRVCStatusCacheTime's minimum does not
stretch it; W3C milliseconds round up); a W3C list must hold 131072 entries of its
statusSize, not 131072 bits."""

import gzip
import shutil
import time
import zlib

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from test_vc import Issuer, StatusServer, audience, b64, post, refused


@pytest.fixture
def lists():
    keys = child_writable_dir("dcr-vc-status-")
    status = StatusServer(keys)
    yield status, Issuer(keys)
    status.stop()
    shutil.rmtree(keys, ignore_errors=True)


def conf(status, issuer, *extra, ca=True):
    lines = ["DCRStore socache:shmcb", "DCRRequireStatement On",
             "DCRFetchAllow 127.0.0.1:%d" % status.port, "DCRFetchTimeout 3",
             "DCRVCIssuer %s jwks:%s" % (issuer.id, issuer.jwks)]
    if ca:
        lines.append("DCRFetchCAFile %s" % status.ca)
    return lines + list(extra)


def w3c_list(issuer, url, nbytes=16384, set_bits=(), ttl_ms=300000):
    bits = bytearray(nbytes)
    for i in set_bits:
        bits[i // 8] |= 0x80 >> (i % 8)
    now = int(time.time())
    subject = {"id": url + "#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
               "encodedList": "u" + b64(gzip.compress(bytes(bits), mtime=0))}
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    return issuer.sign({"@context": ["https://www.w3.org/ns/credentials/v2"],
                        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                        "issuer": issuer.id,
                        "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
                        "credentialSubject": subject}).encode()


def token_list(issuer, url, ttl):
    now = int(time.time())
    return issuer.sign({"sub": url, "iat": now - 10, "exp": now + 3600, "ttl": ttl,
                        "status_list": {"bits": 2, "lst": b64(zlib.compress(bytes(64), 9))}},
                       typ="statuslist+jwt").encode()


def vc(issuer, vhost, **kw):
    """A credential bound (aud) to vhost's endpoint, as DCRVCBinding's default asks."""
    issuer.aud = audience(vhost)
    return issuer.vc2(**kw)


def entry(url, index, size=None):
    e = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": str(index), "statusListCredential": url}
    if size:
        e["statusSize"] = size
    return e


def test_one_vhost_failure_never_decides_for_another(lists, httpd_factory):
    """Vhost A (no DCRFetchCAFile: its fetch fails TLS) marks the list failed; vhost B (with
    the CA and DCRVCStatusUnavailable allow) must still fetch it and see the revocation."""
    status, issuer = lists
    url = status.url("/status/r")
    status.docs["/status/r"] = ("application/vc+jwt", w3c_list(issuer, url, set_bits=[5]))
    a = Vhost(name="a.example.test", conf=conf(status, issuer, ca=False))
    b = Vhost(name="b.example.test", conf=conf(status, issuer, "DCRVCStatusUnavailable allow"))
    h = httpd_factory(vhosts=[a, b])
    h.allow_errors(r"temporarily_unavailable: .*/status/r")
    s = h.session()
    r = s.post(a.endpoint, json={"software_statement": vc(issuer, a, status=entry(url, 5))})
    refused(r, 503, "temporarily_unavailable")
    r = s.post(b.endpoint, json={"software_statement": vc(issuer, b, status=entry(url, 5))})
    refused(r, 400, "invalid_software_statement")
    assert "revoked" in r.json()["error_description"]
    assert status.hits.get("/status/r") == 1, status.hits  # B's own fetch
    # the list B verified is shared (it is re-verified on every use): A now reads it too
    r = s.post(a.endpoint, json={"software_statement": vc(issuer, a, status=entry(url, 5))})
    refused(r, 400, "invalid_software_statement")
    r = s.post(a.endpoint, json={"software_statement": vc(issuer, a, status=entry(url, 6))})
    assert r.status_code == 201, r.text
    assert status.hits.get("/status/r") == 1, status.hits


def test_list_ttl_is_an_upper_bound(lists, httpd_factory):
    """A 2 s IETF ttl and a 500 ms W3C ttl are not stretched to DCRVCStatusCacheTime's 60 s
    minimum (nor to the 300 s default): the lists are fetched again once they ran out."""
    status, issuer = lists
    tok = status.url("/tsl/short")
    w3c = status.url("/status/short")
    status.docs["/tsl/short"] = ("application/statuslist+jwt", token_list(issuer, tok, 2))
    status.docs["/status/short"] = ("application/vc+jwt", w3c_list(issuer, w3c, ttl_ms=500))
    h = httpd_factory(vhosts=[Vhost(conf=conf(status, issuer))])

    def register(n):
        r = post(h, vc(issuer, h.vhost, status=entry(w3c, 1),
                       token_status={"idx": 1, "uri": tok}, software_id="ttl-%d" % n))
        assert r.status_code == 201, r.text

    register(1)
    assert status.hits == {"/tsl/short": 1, "/status/short": 1}, status.hits
    time.sleep(3.2)  # (caching within a ttl: test_vc.py's lists, with a 300 s ttl, are hit once)
    register(2)
    assert status.hits == {"/tsl/short": 2, "/status/short": 2}, status.hits


def test_list_ttl_within_the_maximum(lists, httpd_factory):
    """A long ttl is still capped by DCRVCStatusCacheTime's maximum."""
    status, issuer = lists
    tok = status.url("/tsl/long")
    status.docs["/tsl/long"] = ("application/statuslist+jwt", token_list(issuer, tok, 86400))
    h = httpd_factory(vhosts=[Vhost(conf=conf(status, issuer, "DCRVCStatusCacheTime 0 3"))])
    for n in range(2):
        r = post(h, vc(issuer, h.vhost, token_status={"idx": 1, "uri": tok},
                       software_id="l%d" % n))
        assert r.status_code == 201, r.text
    assert status.hits == {"/tsl/long": 1}, status.hits
    time.sleep(4.2)
    assert post(h, vc(issuer, h.vhost, token_status={"idx": 1, "uri": tok})).status_code == 201
    assert status.hits == {"/tsl/long": 2}, status.hits


def test_w3c_minimum_counts_entries_of_status_size(lists, httpd_factory):
    status, issuer = lists
    small = status.url("/status/2bit-16k")
    big = status.url("/status/2bit-32k")
    status.docs["/status/2bit-16k"] = ("application/vc+jwt", w3c_list(issuer, small, 16384))
    status.docs["/status/2bit-32k"] = ("application/vc+jwt", w3c_list(issuer, big, 32768))
    h = httpd_factory(vhosts=[Vhost(conf=conf(status, issuer))])
    r = post(h, vc(issuer, h.vhost, status=entry(small, 3, size=2)))
    refused(r, 400, "invalid_software_statement")
    assert "131072" in r.json()["error_description"]
    r = post(h, vc(issuer, h.vhost, status=entry(big, 3, size=2)))
    assert r.status_code == 201, r.text
    # one-bit entries: 16 KiB is enough
    assert post(h, vc(issuer, h.vhost, status=entry(small, 3), software_id="b")).status_code == 201
