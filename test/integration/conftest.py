"""pytest fixtures: throwaway httpd servers with the freshly built module (see README.md)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from dcr_httpd import Httpd, Vhost, httpd_available  # noqa: E402

import warnings  # noqa: E402

try:  # self-signed certs are verified through Httpd.ca_file; silence urllib3's noise anyway
    import urllib3
    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
except Exception:  # pragma: no cover
    pass


def pytest_collection_modifyitems(config, items):
    if not httpd_available():
        skip = pytest.mark.skip(reason="httpd (apache2) or openssl not installed")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def postgres():
    """A private PostgreSQL cluster (services.Postgres) shared by one test module."""
    from services import Postgres
    pg = Postgres()
    try:
        pg.init().start()
        yield pg
    finally:
        pg.cleanup()


@pytest.fixture
def httpd_factory(tmp_path_factory, request):
    """httpd_factory(vhosts=None, extra_conf="", server_conf="", mpm="event", start=True,
    modules=(), log_level=...) -> Httpd. Every server made is stopped at teardown, and the test
    fails if its error log holds [error]/[crit]/[alert]/[emerg] lines or dcr_trusted warnings
    that the test did not allow with httpd.allow_errors(regex, ...)."""
    made = []

    def make(vhosts=None, extra_conf="", server_conf="", mpm="event", start=True, **kw):
        root = tmp_path_factory.mktemp("httpd")
        h = Httpd(root, vhosts=vhosts, extra_conf=extra_conf, server_conf=server_conf,
                  mpm=mpm, **kw)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    bad = []
    for h in made:
        h.cleanup()
        bad += ["%s: %s" % (h.root, l) for l in h.unexpected_log_lines()]
    if bad and not request.node.rep_call_failed():
        pytest.fail("unexpected error log lines:\n" + "\n".join(bad), pytrace=False)
    if bad:  # the test failed already: its report shows them as captured teardown output
        print("unexpected error log lines:\n" + "\n".join(bad))


@pytest.fixture
def httpd(httpd_factory):
    """One TLS vhost (as.example.test) with DCRStore socache:shmcb, DCRRequireStatement Off and
    the handler on /register."""
    return httpd_factory()


@pytest.fixture
def oidc_as_factory():
    """oidc_as_factory(issuer=None, rotate_registration_access_token=True, access_token_ttl=600,
    scopes=None, initial_access_token=None) -> a started oidc_as.OidcAS (node oidc-provider,
    README.md); each one is stopped at teardown (its directory is removed at exit)."""
    from node_deps import ensure_node_modules
    from oidc_as import OidcAS
    ensure_node_modules()
    made = []

    def make(**kw):
        a = OidcAS(**kw)
        made.append(a)
        return a.start()

    yield make
    for a in made:
        a.stop()


@pytest.fixture
def oidc_as(oidc_as_factory):
    """One oidc-provider with the defaults (registration access tokens rotate on update)."""
    return oidc_as_factory()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures know whether the test body already failed (no double report).
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item._dcr_call_failed = rep.failed


def _rep_call_failed(self):
    return getattr(self, "_dcr_call_failed", False)


pytest.Item.rep_call_failed = _rep_call_failed

__all__ = ["Httpd", "Vhost"]
