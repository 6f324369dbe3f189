"""OCR of a scanned PDF, only where `tesseract` with its chi_sim (simplified Chinese) data is
installed: pages rendered with pypdfium2 (pdfplumber's renderer), read by tesseract."""

import re
import shutil
import subprocess

from . import NEW_PARAGRAPH, Block

LANGUAGE = "chi_sim"
DPI = 300
TIMEOUT_PER_PAGE = 120  # seconds
_ARTICLE_GAP = re.compile(r"^(第[零〇一二三四五六七八九十百千]+条)(?=\S)")  # 第一条 为了, as printed
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")


def available():
    """The tesseract program when it is installed with chi_sim, else None."""
    program = shutil.which("tesseract")
    if program is None:
        return None
    try:
        langs = subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return program if LANGUAGE in langs.stdout.split() else None


def read_pages(program, raw):
    """Paragraph blocks of every page, in order (tesseract separates paragraphs by blank lines)."""
    import io

    import pypdfium2

    blocks = []
    document = pypdfium2.PdfDocument(raw)
    try:
        for page in document:
            image = page.render(scale=DPI / 72).to_pil()
            png = io.BytesIO()
            image.save(png, format="PNG")
            result = subprocess.run(
                [program, "stdin", "stdout", "-l", LANGUAGE, "--dpi", str(DPI)],
                input=png.getvalue(), capture_output=True, timeout=TIMEOUT_PER_PAGE, check=True,
            )
            blocks.extend(_paragraphs(result.stdout.decode("utf-8", errors="replace")))
    finally:
        document.close()
    return blocks


def _paragraphs(text):
    """A blank-line separated chunk is one paragraph, unless an article or item starts inside it."""
    out = []
    for chunk in re.split(r"\n\s*\n", text):
        started = False
        for line in (_CJK_GAP.sub("", l.strip()) for l in chunk.splitlines()):
            if not line:
                continue
            if not started or NEW_PARAGRAPH.match(line):
                out.append(line)
                started = True
            else:
                out[-1] += line
    return [Block("paragraph", _ARTICLE_GAP.sub(r"\1 ", p)) for p in out]
