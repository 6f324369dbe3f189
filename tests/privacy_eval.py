"""How much personal data masking leaves in clear, on a JSON-lines file of labelled messages.

Each line: {"text": "...", "pii": ["张三", "13812345678"], "keep": ["第八条", "12345"]}. A personal
item is *left in clear* when it still appears in the masked text, verbatim or with its digits and
letters run together (so "138 1234 5678" left as "13812345678" counts); a keep item is *lost* when
it no longer appears verbatim.

    .venv/bin/python -m tests.privacy_eval FILE [--show]
"""

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.·/()（）+]")


def read_cases(path):
    cases = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            case = json.loads(line)
            if not isinstance(case.get("text"), str):
                raise ValueError(f"{path}:{n}: a case needs a text")
            cases.append({"text": case["text"], "pii": list(case.get("pii", [])), "keep": list(case.get("keep", []))})
    return cases


def _squeeze(text):
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).lower()


def in_clear(item, masked):
    """True when the personal item can still be read in the masked text."""
    if item in masked:
        return True
    squeezed = _squeeze(item)
    return len(squeezed) >= 5 and squeezed in _squeeze(masked)


@dataclass
class Measure:
    messages: int = 0
    pii: int = 0
    pii_in_clear: list = field(default_factory=list)  # (item, masked text)
    keep: int = 0
    keep_lost: list = field(default_factory=list)

    @property
    def pii_in_clear_share(self):
        return len(self.pii_in_clear) / self.pii if self.pii else 0.0

    @property
    def keep_lost_share(self):
        return len(self.keep_lost) / self.keep if self.keep else 0.0

    def summary(self):
        return (
            f"{self.messages} messages: {len(self.pii_in_clear)} of {self.pii} personal items left in clear "
            f"({self.pii_in_clear_share:.1%}), {len(self.keep_lost)} of {self.keep} keep items lost ({self.keep_lost_share:.1%})"
        )


def measure(mask, cases):
    """Apply `mask` (text -> stored text) to every case and count what leaks and what is lost."""
    result = Measure()
    for case in cases:
        masked = mask(case["text"]) or ""
        result.messages += 1
        for item in case["pii"]:
            result.pii += 1
            if in_clear(item, masked):
                result.pii_in_clear.append((item, masked))
        for item in case["keep"]:
            result.keep += 1
            if item not in masked:
                result.keep_lost.append((item, masked))
    return result


def main(argv=None):
    from retrieval.answer import valid_unicode
    from retrieval.privacy import Masker

    p = argparse.ArgumentParser(prog="privacy_eval", description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--privacy", default=str(ROOT / "faq" / "privacy.toml"))
    p.add_argument("--show", action="store_true", help="list every item left in clear or lost")
    args = p.parse_args(argv)
    masker = Masker.load(args.privacy)
    result = measure(lambda text: masker.mask(valid_unicode(text).strip()), read_cases(args.file))
    print(result.summary())
    if args.show:
        for item, masked in result.pii_in_clear:
            print(f"  in clear: {item!r} in {masked!r}")
        for item, masked in result.keep_lost:
            print(f"  lost:     {item!r} from {masked!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
