"""A refusal "before anything is read", proved by what runs rather than by a stopwatch (which a
busy CI machine makes flaky; `make bench` times refusals): inside `nothing_unpacked()`, opening any
zip part, python-docx, pdfplumber or the HTML parser fails the test."""

import contextlib
import zipfile

import pytest


def _refuse(what):
    def called(*args, **kwargs):
        raise AssertionError(f"{what} ran: the file was read before it was refused")
    return called


@contextlib.contextmanager
def nothing_unpacked():
    import docx
    import pdfplumber
    import selectolax.lexbor

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", _refuse("zipfile.ZipFile.open (a part unpacked)"))
        patch.setattr(docx, "Document", _refuse("python-docx"))
        patch.setattr(pdfplumber, "open", _refuse("pdfplumber"))
        patch.setattr(selectolax.lexbor, "LexborHTMLParser", _refuse("the HTML parser"))
        yield
