"""Throwaway backing services for the store tests: a private PostgreSQL cluster, memcached and
redis-server on free loopback ports, and directories the httpd User can write. Nothing is
skipped: a missing binary fails the fixture with the Debian package to install."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from dcr_httpd import free_port

CHILD_USER = "nobody"  # dcr_httpd runs children as nobody:nogroup when started as root


def _need(path_or_name, package):
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if not found or not os.access(found, os.X_OK):
        raise RuntimeError("%s not found: install the Debian package %s (apt-get install %s)"
                           % (path_or_name, package, package))
    return found


def _wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing answers on 127.0.0.1:%d" % port)


def child_writable_dir(prefix="dcr-store-"):
    """A directory outside pytest's private (0700) tmp tree that httpd's children can reach
    and write: SQLite needs to create <file>-wal and <file>-shm beside the database."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(CHILD_USER)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    return d


class Postgres:
    """A private cluster (initdb in a temp dir, trust auth, loopback only) run as the postgres
    user when we are root. .dbd_params is what DBDParams needs."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found: install the Debian "
                               "package postgresql (apt-get install postgresql)")
        self.bin = bins[-1]
        for b in ("initdb", "pg_ctl", "psql"):
            _need(os.path.join(self.bin, b), "postgresql")
        if not glob.glob("/usr/lib/*/apr-util-1/apr_dbd_pgsql*.so"):
            raise RuntimeError("apr_dbd pgsql driver not found: install the Debian package "
                               "libaprutil1-dbd-pgsql")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="dcr-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self.running = False

    def _run(self, *args, check=True, timeout=60):
        def demote():
            if self.user:
                os.setgid(self.user.pw_gid)
                os.setuid(self.user.pw_uid)
        env = dict(os.environ, PGPORT=str(self.port), PGHOST="127.0.0.1", LC_ALL="C")
        p = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                           preexec_fn=demote, env=env, cwd=self.dir)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s %s" % (args[0], p.returncode, p.stdout,
                                                          p.stderr))
        return p

    def init(self):
        self._run(os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust", "-U",
                  "dcr", "--no-sync")
        return self

    def start(self, durable=False):
        """durable: PostgreSQL's stock fsync (the benchmark); tests need no crash safety."""
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=100" \
            % (self.port, self.dir)
        if not durable:
            opts += " -c fsync=off"
        self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-o", opts, "-l",
                  os.path.join(self.dir, "log"), "-w", "start")
        self.running = True
        _wait_port(self.port)
        return self

    def stop(self):
        if self.running:
            self._run(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                      "stop", check=False)
        self.running = False

    def createdb(self, name):
        self.psql("CREATE DATABASE %s" % name, db="postgres")
        return name

    def psql(self, sql, db="postgres"):
        """Runs sql; returns the rows as lists of strings (unaligned, tab-separated)."""
        p = self._run(os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                      "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                      "-U", "dcr", "-d", db, "-c", sql)
        return [l.split("\t") for l in p.stdout.splitlines() if l]

    def psql_file(self, path, db):
        self._run(os.path.join(self.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                  "127.0.0.1", "-p", str(self.port), "-U", "dcr", "-d", db, "-f", path)

    def dbd_params(self, db):
        return "host=127.0.0.1 port=%d dbname=%s user=dcr" % (self.port, db)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Daemon:
    """memcached or redis-server in the foreground on a free loopback port."""

    def __init__(self, kind):
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="dcr-%s-" % kind)
        if kind == "memcached":
            exe = _need("memcached", "memcached")
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            self.argv = [exe, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64"] \
                + user
        elif kind == "redis":
            exe = _need("redis-server", "redis-server")
            self.argv = [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                         "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"]
        else:
            raise ValueError(kind)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        _wait_port(self.port)
        return self

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
