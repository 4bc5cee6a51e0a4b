"""Lifecycle directives on the socache store: returning subjects (DCRReregister), the
per-subject ceiling (429 + Retry-After) through the store's subject index, token rotation on
update. Subjects come from real JWT-SVIDs (test_spiffe.TrustDomain)."""

import pytest

from dcr_httpd import Vhost
from test_spiffe import TrustDomain

META = {"grant_types": ["client_credentials"], "client_name": "workload"}


@pytest.fixture
def domain(tmp_path):
    return TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))


def server(httpd_factory, domain, *lines):
    v = Vhost(conf=["DCRStore socache:shmcb",
                    "DCRTrustDomain example.org %s" % domain.path] + list(lines))
    return httpd_factory([v])


def register(h, domain, sub=None):
    svid = domain.svid(h.vhost.public_base + "/register", sub=sub)
    return h.session().post(h.endpoint, json=dict(META, software_statement=svid))


def path_of(h, reg):
    return h.url + reg["registration_client_uri"][len(h.vhost.public_base):]


def bearer(reg):
    return {"Authorization": "Bearer " + reg["registration_access_token"]}


def test_per_subject_ceiling_and_retry_after(httpd_factory, domain):
    h = server(httpd_factory, domain, "DCRReregister new", "DCRMaxRegistrationsPerSubject 2")
    a = register(h, domain)
    b = register(h, domain)
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    assert a.json()["client_id"] != b.json()["client_id"]
    c = register(h, domain)
    assert c.status_code == 429, c.text
    assert c.json()["error"] == "too_many_requests"
    assert int(c.headers["Retry-After"]) > 0
    assert c.headers["Cache-Control"] == "no-store"
    # another subject is not affected
    other = register(h, domain, sub="spiffe://example.org/ns/prod/other")
    assert other.status_code == 201, other.text
    # deleting one frees a place: the subject index follows removals
    d = h.session().delete(path_of(h, a.json()), headers=bearer(a.json()))
    assert d.status_code == 204
    assert register(h, domain).status_code == 201


def test_reregister_replace_keeps_client_id(httpd_factory, domain):
    h = server(httpd_factory, domain)  # DCRReregister replace is the default
    first = register(h, domain).json()
    second = register(h, domain)
    assert second.status_code == 201, second.text
    second = second.json()
    assert second["client_id"] == first["client_id"]
    assert second["registration_access_token"] != first["registration_access_token"]
    s = h.session()
    assert s.get(path_of(h, second), headers=bearer(second)).status_code == 200
    r = s.get(path_of(h, first), headers=bearer(first))
    assert r.status_code == 401  # the old token stopped working
    assert h.wait_access_log(2)[1]["decision"] == "re-registered"


def test_rotate_token_on_update(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                   "DCRRotateTokenOnUpdate On"])])
    s = h.session()
    reg = s.post(h.endpoint, json={"redirect_uris": ["https://c.example/cb"]}).json()
    r = s.put(path_of(h, reg), headers=bearer(reg),
              json={"client_id": reg["client_id"], "redirect_uris": ["https://c.example/cb2"]})
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["registration_access_token"] != reg["registration_access_token"]
    assert s.get(path_of(h, reg), headers=bearer(new)).status_code == 200
    assert s.get(path_of(h, reg), headers=bearer(reg)).status_code == 401


@pytest.mark.parametrize("line", ["DCRReregister sometimes", "DCRMaxRegistrationsPerSubject -1",
                                  "DCRMaxRegistrations many", "DCRRotateTokenOnUpdate yes"])
def test_bad_lifecycle_arguments(httpd_factory, line):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", line])], start=False)
    proc = h.start(expect_fail=True)
    assert line.split()[0] in proc.stderr


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post",
                                    "client_secret_jwt"])
def test_spiffe_clients_never_get_a_secret(httpd_factory, method):
    """draft-kasselman: no client secret for a SPIFFE client, whatever the configuration."""
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRSpiffeAuthMethod %s" % method])], start=False)
    proc = h.start(expect_fail=True)
    assert "DCRSpiffeAuthMethod" in proc.stderr and "no client secret" in proc.stderr


def test_spiffe_auth_method_is_configurable(httpd_factory, domain):
    h = server(httpd_factory, domain, "DCRSpiffeAuthMethod private_key_jwt")
    r = register(h, domain)
    assert r.status_code == 201, r.text
    assert r.json()["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in r.json()


def test_global_ceiling_needs_a_store_that_counts(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRMaxRegistrations 10"])],
                      start=False)
    h.allow_errors(r"DCRMaxRegistrations for .*cannot count")
    proc = h.start(expect_fail=True)
    assert "DCRMaxRegistrations" in proc.stderr + h.error_log_text()
    assert "cannot count" in proc.stderr + h.error_log_text()
