"""A throwaway PostgreSQL cluster for the tests and `make bench`: initdb in a temp folder, a unix
socket there, no TCP; run as the `postgres` system user when we are root (the server refuses
root), created if missing. `.ci/run` installs Debian's postgresql when initdb is absent."""

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def binaries():
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _as_server_user():
    """The command prefix that runs a program as the postgres user (nothing when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


class Cluster:
    def __init__(self, bin_dir):
        self.bin = Path(bin_dir)
        self.root = Path(tempfile.mkdtemp(prefix="minzheng-pg-"))
        self.data = self.root / "data"
        self._prefix = _as_server_user()
        self._names = itertools.count(1)
        if self._prefix:
            shutil.chown(self.root, "postgres")

    def _run(self, *args, **kw):
        return subprocess.run([*self._prefix, *args], check=True, capture_output=True, text=True, **kw)

    def init(self):
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        return self

    def start(self):
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "30", "-l", str(self.root / "server.log"), "start")
        return self

    def stop(self, mode="fast"):
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def url(self, dbname="postgres"):
        return f"postgresql://postgres@/{dbname}?host={self.root}"

    def new_database(self):
        """A fresh empty database; returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"create database {name}")
        return self.url(name)

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
