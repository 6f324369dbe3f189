"""Shared fixtures: one real build of the knowledge base per test session, in a temp folder."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from retrieval.answer import Answerer
from retrieval.library import Library
from retrieval.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="session")
def settings(tmp_path_factory):
    return replace(Settings(), store_path=tmp_path_factory.mktemp("store") / "store.db")


@pytest.fixture(scope="session")
def library(settings):
    lib = Library(settings)
    lib.build()
    return lib


@pytest.fixture(scope="session")
def answerer(library, settings):
    return Answerer(library, settings)


# -- a workspace of one's own, for tests that edit or break data files (tests/workspace.py) -----
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """knowledge/ and faq/ copied and built once per module."""
    from .workspace import workspace_settings

    root = tmp_path_factory.mktemp("workspace-base")
    shutil.copytree(ROOT / "knowledge", root / "knowledge")
    shutil.copytree(ROOT / "faq", root / "faq")
    Library(workspace_settings(root)).build()
    return root


@pytest.fixture()
def ws(base, tmp_path):
    """A copy of the module's built workspace for one test to change."""
    from .workspace import Workspace, workspace_settings

    root = tmp_path / "ws"
    shutil.copytree(base, root)
    return Workspace(root, workspace_settings(root))



# -- one throwaway redis-server per session (tests/redis_server.py) ----------------------------
@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    from .redis_server import RedisServer, available

    if not available():
        pytest.skip("redis-server is not installed (apt-get install -y redis-server; .ci/run installs it)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture()
def redis(redis_server):
    """The session's redis-server, empty, for one test (restarted if a test stopped it)."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.flush()
    yield redis_server
    if redis_server.process is None:
        redis_server.start()


# -- PostgreSQL: one throwaway cluster per test session (tests/pg_cluster.py) -----------------
@pytest.fixture(scope="session")
def postgres():
    """A running throwaway PostgreSQL cluster; skipped only when its programs are not installed."""
    from . import pg_cluster

    found = pg_cluster.binaries()
    if found is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (.ci/run installs Debian's postgresql)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    cluster = pg_cluster.Cluster(found).init().start()
    yield cluster
    cluster.destroy()


@pytest.fixture()
def database_url(postgres):
    """A fresh database of its own for one test."""
    return postgres.new_database()
