"""A throwaway httpd for the integration tests, in the spirit of mod_md's test harness.

Each Httpd lives in its own ServerRoot (a pytest tmp dir) with a generated httpd.conf, a
self-signed certificate, free 127.0.0.1 ports and its own logs. It loads the freshly built
mod_dcr_trusted.so, mod_ssl, mod_socache_shmcb and one MPM from the system's module directory,
and is run with /usr/sbin/apache2 -f <conf>: never the system apache, never a fixed port.

See README.md in this directory for the API the test files use.
"""

import glob
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HTTPD_BIN = os.environ.get("DCR_HTTPD", "/usr/sbin/apache2")
MODULE_DIR = os.environ.get("DCR_HTTPD_MODULES", "/usr/lib/apache2/modules")

# Error-log lines at these levels fail a test unless it allows them (Httpd.allow_errors).
BAD_LEVEL = re.compile(r"\[(?:[a-z_]+:)?(error|crit|alert|emerg)\]")
DCR_WARN = re.compile(r"\[dcr_trusted:(warn|error|crit|alert|emerg)\]")
ACCESS_FORMAT = '%P %m "%U" %>s "%{DCR_DECISION}n" "%{DCR_CLIENT_ID}n" "%{DCR_DECISION}e"'
ACCESS_RE = re.compile(r'^(\d+) (\S+) "([^"]*)" (\d+) "([^"]*)" "([^"]*)" "([^"]*)"$')


def find_module():
    """DCR_MODULE, else the newest .libs/mod_dcr_trusted.so in or beside the repo (out-of-tree
    builds live in /tmp/build-*)."""
    env = os.environ.get("DCR_MODULE")
    if env:
        return os.path.abspath(env)
    cands = glob.glob(os.path.join(REPO, "**", ".libs", "mod_dcr_trusted.so"), recursive=True)
    cands += glob.glob("/tmp/build-*/.libs/mod_dcr_trusted.so")
    if not cands:
        raise RuntimeError("mod_dcr_trusted.so not found: build it or set DCR_MODULE")
    return max(cands, key=os.path.getmtime)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CERTS = {}  # names -> directory holding a generated set, reused within one test run


def make_cert(directory, names):
    key = tuple(names)
    if key in _CERTS and os.path.exists(os.path.join(_CERTS[key], "server.crt")):
        for f in ("server.crt", "server.key", "ca.crt"):
            shutil.copy(os.path.join(_CERTS[key], f), os.path.join(directory, f))
    else:
        _make_cert(directory, names)
        _CERTS[key] = directory
    return tuple(os.path.join(directory, f) for f in ("server.crt", "server.key", "ca.crt"))


def _make_cert(directory, names):
    """A throwaway CA (ca.crt) and a server cert + key it signed for names (DNS) and
    127.0.0.1, via the openssl CLI. Returns (server.crt, server.key, ca.crt)."""
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    san = ",".join(["IP:127.0.0.1"] + ["DNS:" + n for n in names])
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days",
        "2", "-subj", "/CN=dcr test CA")
    run("openssl", "req", *ec, "-keyout", p("server.key"), "-out", p("server.csr"), "-subj",
        "/CN=" + names[0])
    with open(p("ext.cnf"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % san)
    run("openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey",
        p("ca.key"), "-CAcreateserial", "-out", p("server.crt"), "-days", "2", "-extfile",
        p("ext.cnf"))
    return p("server.crt"), p("server.key"), p("ca.crt")


class Vhost:
    """One <VirtualHost 127.0.0.1:port>. conf: directives inside the vhost (str or list);
    location: the <Location> that gets SetHandler dcr-registration (None: no handler);
    location_conf: extra lines inside that <Location>; public_url: a DCRPublicURL (what
    several nodes behind one name share: clients are bound to their endpoint URL)."""

    def __init__(self, name="as.example.test", tls=True, conf=None, location="/register",
                 location_conf="", port=None, public_url=None):
        self.server_name = name
        self.tls = tls
        self.public_url = public_url
        if conf is None:
            conf = ["DCRStore socache:shmcb", "DCRRequireStatement Off"]
        self.conf = conf if isinstance(conf, str) else "\n".join(conf)
        if public_url:
            self.conf = "DCRPublicURL %s\n%s" % (public_url, self.conf)
        self.location = location
        self.location_conf = location_conf
        self.port = port or free_port()

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        """Base URL to reach this vhost (by IP: tests never depend on DNS)."""
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    @property
    def endpoint(self):
        return self.url + (self.location or "")

    @property
    def public_base(self):
        """What the module should build absolute URLs from: ServerName and port, or the
        DCRPublicURL."""
        if self.public_url:
            return self.public_url
        return "%s://%s:%d" % (self.scheme, self.server_name, self.port)

    def render(self, crt, key):
        lines = ["<VirtualHost 127.0.0.1:%d>" % self.port,
                 "    ServerName %s:%d" % (self.server_name, self.port)]
        if self.tls:
            lines += ["    SSLEngine on", "    SSLCertificateFile %s" % crt,
                      "    SSLCertificateKeyFile %s" % key]
        lines += ["    " + l for l in self.conf.splitlines()]
        if self.location:
            lines += ["    <Location %s>" % self.location,
                      "        SetHandler dcr-registration"]
            lines += ["        " + l for l in self.location_conf.splitlines()]
            lines += ["    </Location>"]
        lines.append("</VirtualHost>")
        return "\n".join(lines)


class Httpd:
    def __init__(self, root, vhosts=None, extra_conf="", server_conf="", mpm="event",
                 module=None, log_level="notice dcr_trusted:debug", modules=()):
        self.root = str(root)
        self.vhosts = vhosts if vhosts is not None else [Vhost()]
        self.extra_conf = extra_conf
        self.server_conf = server_conf
        self.mpm = mpm
        self.module = module or find_module()
        self.log_level = log_level
        self.modules = list(modules)
        # the socache store's startup warning (registrations do not survive a restart)
        self.allowed = [re.compile(r"DCRStore socache:\S+ keeps registrations in a cache")]
        self.running = False
        for d in ("logs", "run", "conf", "data"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        os.chmod(self.root, 0o755)
        names = sorted({v.server_name for v in self.vhosts} | {"localhost"})
        self.crt, self.key, self.ca_file = make_cert(os.path.join(self.root, "conf"), names)
        self.conf_file = os.path.join(self.root, "conf", "httpd.conf")
        self.error_log = os.path.join(self.root, "logs", "error.log")
        self.access_log = os.path.join(self.root, "logs", "access.log")
        self.write_conf()

    # -- convenience ------------------------------------------------------------------------
    @property
    def vhost(self):
        return self.vhosts[0]

    @property
    def url(self):
        return self.vhost.url

    @property
    def endpoint(self):
        return self.vhost.endpoint

    def session(self):
        """A requests.Session that trusts this server's certificate."""
        import requests
        s = requests.Session()
        s.trust_env = False  # else REQUESTS_CA_BUNDLE / proxies from the env override verify
        s.verify = self.ca_file
        return s

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    # -- configuration ----------------------------------------------------------------------
    def module_lines(self):
        mods = ["mpm_%s" % self.mpm, "authz_core", "ssl", "socache_shmcb"] + self.modules
        out = []
        for m in dict.fromkeys(mods):
            out.append("LoadModule %s_module %s/mod_%s.so" % (m, MODULE_DIR, m))
        out.append("LoadModule dcr_trusted_module %s" % self.module)
        return out

    def write_conf(self):
        r = self.root
        lines = [
            "ServerRoot %s" % r,
            "DefaultRuntimeDir %s/run" % r,
            "PidFile %s/run/httpd.pid" % r,
            "Mutex file:%s/run default" % r,
            "ScoreBoardFile %s/run/scoreboard" % r,
        ]
        lines += self.module_lines()
        if os.geteuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        lines += [
            "ServerName localhost",
            "ErrorLog %s" % self.error_log,
            "LogLevel %s" % self.log_level,
            'LogFormat "%s" dcr' % ACCESS_FORMAT.replace('"', '\\"'),
            "CustomLog %s dcr" % self.access_log,
            "SSLSessionCache shmcb:%s/run/ssl_scache(512000)" % r,
            "SSLRandomSeed startup builtin",
            "Timeout 10",
        ]
        if self.mpm == "prefork":
            lines += ["StartServers 4", "MinSpareServers 4", "MaxSpareServers 6",
                      "MaxRequestWorkers 10", "MaxConnectionsPerChild 0"]
        else:
            lines += ["StartServers 2", "ServerLimit 2", "ThreadLimit 8", "ThreadsPerChild 8",
                      "MaxRequestWorkers 16", "MinSpareThreads 4", "MaxSpareThreads 16"]
        for v in self.vhosts:
            lines.append("Listen 127.0.0.1:%d" % v.port)
        lines.append(self.server_conf)
        for v in self.vhosts:
            lines.append(v.render(self.crt, self.key))
        lines.append(self.extra_conf)
        text = "\n".join(lines) + "\n"
        with open(self.conf_file, "w") as f:
            f.write(text)

    # -- lifecycle --------------------------------------------------------------------------
    def env(self):
        """httpd's environment. DCR_HTTPD_PRELOAD (e.g. libasan.so for a module built with
        --enable-sanitizers) is preloaded into httpd only; sanitizer reports go to
        sanitizer.* in a directory the children (User nobody) can write, and fail the test."""
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        pre = os.environ.get("DCR_HTTPD_PRELOAD")
        if pre:
            env["LD_PRELOAD"] = pre
            log = os.path.join(self.sanitizer_dir(), "sanitizer")
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:log_path=" + log
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=" + log
        return env

    def apachectl(self, action):
        return subprocess.run([HTTPD_BIN, "-d", self.root, "-f", self.conf_file, "-k", action],
                              capture_output=True, text=True, timeout=30, env=self.env())

    def config_test(self):
        """httpd -t: a CompletedProcess (returncode, stdout, stderr)."""
        return subprocess.run([HTTPD_BIN, "-d", self.root, "-f", self.conf_file, "-t"],
                              capture_output=True, text=True, timeout=30, env=self.env())

    def sanitizer_dir(self):
        """Outside the (0700) pytest tree, sticky and world-writable like /tmp."""
        if not getattr(self, "_sanitizer_dir", None):
            self._sanitizer_dir = tempfile.mkdtemp(prefix="dcr-sanitizer-")
            os.chmod(self._sanitizer_dir, 0o1777)
        return self._sanitizer_dir

    def sanitizer_reports(self):
        out = []
        if not getattr(self, "_sanitizer_dir", None):
            return out
        for f in glob.glob(os.path.join(self._sanitizer_dir, "sanitizer*")):
            with open(f, errors="replace") as fh:
                out.append(f + ":\n" + fh.read())
        return out

    def _ready_count(self):
        return sum(1 for l in self.error_log_lines() if "resuming normal operations" in l)

    def _wait_ready(self, before, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self._ready_count() > before and all(self._port_open(v.port) for v in self.vhosts):
                return True
            time.sleep(0.05)
        return False

    @staticmethod
    def _port_open(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, expect_fail=False):
        """Starts httpd and waits until every vhost port answers. With expect_fail, returns
        the CompletedProcess of a start that must fail (its stderr names the problem) and
        raises if httpd came up."""
        before = self._ready_count()
        proc = self.apachectl("start")
        if expect_fail:
            if proc.returncode == 0 and self._wait_ready(before, timeout=3):
                self.running = True
                raise AssertionError("httpd started although it should have refused")
            return proc
        if proc.returncode != 0:
            raise RuntimeError("httpd failed to start: %s\n%s" % (proc.stderr,
                                                                   self.error_log_text()))
        self.running = True
        if not self._wait_ready(before):
            raise RuntimeError("httpd did not come up:\n" + self.error_log_text())
        return proc

    def _signal(self, action):
        before = self._ready_count()
        proc = self.apachectl(action)
        if proc.returncode != 0:
            raise RuntimeError("httpd -k %s failed: %s" % (action, proc.stderr))
        if not self._wait_ready(before):
            raise RuntimeError("httpd did not come back after %s:\n%s" % (action,
                                                                          self.error_log_text()))

    def graceful(self):
        self._signal("graceful")

    def restart(self):
        self._signal("restart")

    def reload(self):
        """Rewrites httpd.conf from the (possibly changed) vhosts and restarts gracefully."""
        self.write_conf()
        self.graceful()

    def pid(self):
        try:
            with open(self.path("run", "httpd.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.running:
            return
        pid = self.pid()
        self.apachectl("stop")
        # `-k stop` needs a config that still parses; a server must not outlive its test.
        for sig, wait in ((None, 15), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if sig and pid:
                try:
                    os.kill(pid, sig)
                except OSError:
                    break
            deadline = time.time() + wait
            while pid and time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    pid = None
                    break
                time.sleep(0.05)
            if not pid:
                break
        self.running = False

    # -- logs -------------------------------------------------------------------------------
    def error_log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def error_log_lines(self):
        return self.error_log_text().splitlines()

    def access_log_entries(self):
        """Parsed access log: dicts with pid, method, path, status, decision, client_id."""
        out = []
        try:
            with open(self.access_log, errors="replace") as f:
                for line in f:
                    m = ACCESS_RE.match(line.rstrip("\n"))
                    if m:
                        out.append({"pid": int(m.group(1)), "method": m.group(2),
                                    "path": m.group(3), "status": int(m.group(4)),
                                    "decision": m.group(5), "client_id": m.group(6),
                                    "env_decision": m.group(7)})
        except OSError:
            pass
        return out

    def wait_access_log(self, n, timeout=5):
        """Waits until the access log has at least n entries (logging happens after the
        response is sent) and returns them."""
        deadline = time.time() + timeout
        while True:
            entries = self.access_log_entries()
            if len(entries) >= n or time.time() > deadline:
                return entries
            time.sleep(0.05)

    def allow_errors(self, *patterns):
        """Error-log lines matching any of these regexes do not fail the test."""
        self.allowed += [re.compile(p) for p in patterns]

    def unexpected_log_lines(self):
        bad = list(self.sanitizer_reports())
        for line in self.error_log_lines():
            if not (BAD_LEVEL.search(line) or DCR_WARN.search(line)):
                continue
            if any(p.search(line) for p in self.allowed):
                continue
            bad.append(line)
        return bad

    def cleanup(self):
        self.stop()
        if getattr(self, "_sanitizer_dir", None):
            try:  # kept when it holds reports: they fail the test and tell why
                os.rmdir(self._sanitizer_dir)
            except OSError:
                pass


def raw_request(host, port, data, tls_ctx=None, server_hostname=None, read_timeout=5):
    """Sends raw bytes (for bodies client libraries refuse to send) and returns what came back
    before the server closed (or timed out): (status, headers dict lower-cased, body bytes).
    Send errors after the server answered (it may close early) are ignored."""
    sock = socket.create_connection((host, port), timeout=read_timeout)
    if tls_ctx is not None:
        sock = tls_ctx.wrap_socket(sock, server_hostname=server_hostname or host)
    chunks = []
    try:
        try:
            if callable(data):
                data(sock)
            else:
                sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        while True:
            try:
                b = sock.recv(65536)
            except (socket.timeout, ConnectionResetError, ssl.SSLError):
                break
            if not b:
                break
            chunks.append(b)
            if _complete(b"".join(chunks)):
                break
    finally:
        sock.close()
    return parse_response(b"".join(chunks))


def _complete(buf):
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(m) and len(body) >= int(m.group(1))


def parse_response(buf):
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return None, {}, buf
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def httpd_available():
    return os.path.exists(HTTPD_BIN) and shutil.which("openssl") is not None
