"""Shared fixtures: one real build of the knowledge base per test session, in a temp folder."""

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
