"""Configurations that cannot work make httpd refuse to start, naming the directive."""

import pytest

from dcr_httpd import Vhost


def refused(httpd_factory, vhosts, server_conf="", extra_conf=""):
    h = httpd_factory(vhosts, server_conf=server_conf, extra_conf=extra_conf, start=False)
    h.allow_errors(r"\[(?:[a-z_]+:)?(emerg|crit|alert|error)\]")  # the refusal is expected
    proc = h.start(expect_fail=True)
    assert proc.returncode != 0
    return proc.stderr + h.error_log_text()


def test_unknown_socache_provider(httpd_factory):
    out = refused(httpd_factory, [Vhost(conf=["DCRStore socache:nosuchprovider",
                                              "DCRRequireStatement Off"])])
    assert "DCRStore" in out and "nosuchprovider" in out


def test_socache_provider_module_not_loaded(httpd_factory):
    # memcache's module is not loaded by the harness: same as shmcb missing on a real server
    out = refused(httpd_factory, [Vhost(conf=["DCRStore socache:memcache:127.0.0.1:1"])])
    assert "DCRStore" in out and "mod_socache_memcache" in out


def test_missing_store_on_handler_vhost(httpd_factory):
    out = refused(httpd_factory, [Vhost(conf=["DCRRequireStatement Off"])])
    assert "DCRStore is not set" in out
    assert "as.example.test" in out


def test_missing_store_with_handler_in_main_server(httpd_factory):
    # a <Location> in the main server is served by every vhost: each one needs a store
    out = refused(httpd_factory, [Vhost(conf=[], location=None)],
                  server_conf="<Location /reg>\n SetHandler dcr-registration\n</Location>")
    assert "DCRStore is not set" in out


def test_store_inherited_from_main_server(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRRequireStatement Off"])],
                      server_conf="DCRStore socache:shmcb")
    r = h.session().post(h.endpoint, json={"redirect_uris": ["https://c.example/cb"]})
    assert r.status_code == 201, r.text


def test_no_store_needed_without_handler(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRRequireStatement Off"], location=None)])
    assert h.session().get(h.url + "/").status_code == 404


def test_handler_outside_location(httpd_factory):
    out = refused(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb",
                                              "<Directory /tmp>",
                                              "  SetHandler dcr-registration",
                                              "</Directory>"], location=None)])
    assert "SetHandler dcr-registration" in out and "<Location" in out


@pytest.mark.parametrize("line, words", [
    ("DCRStore nosuch:thing", ["DCRStore", "unknown store"]),
    ("DCRStore socache", ["DCRStore", "provider"]),
    ("DCRMaxBodySize lots", ["DCRMaxBodySize", "lots"]),
    ("DCRMaxBodySize 10", ["DCRMaxBodySize"]),
    ("DCRClockSkew -5", ["DCRClockSkew"]),
    ("DCRMaxStatementLifetime 0", ["DCRMaxStatementLifetime"]),
    ("DCRRegistrationLifetime 1h", ["DCRRegistrationLifetime"]),
    ("DCRPublicURL ftp://as.example.com", ["DCRPublicURL"]),
    ("DCRPublicURL https://as.example.com/?q=1", ["DCRPublicURL"]),
    ("DCRCORSOrigins https://app.example/path", ["DCRCORSOrigins"]),
    ("DCRRedirectSchemes https", ["DCRRedirectSchemes"]),
    ("DCRRequireTLS maybe", ["DCRRequireTLS"]),
    ("DCRRequireStatement", ["DCRRequireStatement"]),
])
def test_bad_arguments(httpd_factory, line, words):
    conf = [line] if line.startswith("DCRStore") else ["DCRStore socache:shmcb", line]
    out = refused(httpd_factory, [Vhost(conf=conf)])
    for w in words:
        assert w in out, out


def test_store_set_twice(httpd_factory):
    out = refused(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb",
                                              "DCRStore socache:shmcb"])])
    assert "DCRStore" in out and "twice" in out


def test_handler_in_inactive_ifmodule_needs_no_store(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRRequireStatement Off",
                                   "<IfModule nosuch_module>",
                                   "  <Location /x>",
                                   "    SetHandler dcr-registration",
                                   "  </Location>",
                                   "</IfModule>"], location=None)])
    assert h.session().get(h.url + "/x").status_code == 404


def test_quoted_location_and_handler(httpd_factory):
    h = httpd_factory([Vhost(location=None, conf=["DCRStore socache:shmcb",
                                                  "DCRRequireStatement Off",
                                                  '<Location "/reg">',
                                                  '  SetHandler "dcr-registration"',
                                                  "</Location>"])])
    r = h.session().post(h.url + "/reg", json={"redirect_uris": ["https://c.example/cb"]})
    assert r.status_code == 201, r.text
    assert r.json()["registration_client_uri"].startswith(h.vhost.public_base + "/reg/")


def test_number_range_in_message(httpd_factory):
    out = refused(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb", "DCRClockSkew 99999"])])
    assert "DCRClockSkew: '99999' is not a number between 0 and 3600" in out
