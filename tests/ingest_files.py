"""Real files of each format `bot.py add` reads, made by the tests: a Word file with Word's own
numbering, a PDF set in reportlab's built-in Chinese font (STSong-Light, no font download) with
running headers, page numbers and an article broken across pages, a page saved from a district
government site with its navigation and footer, and a scanned PDF (a page image, no text)."""

# -- Word ----------------------------------------------------------------------------------------
DOCX_TITLE = "杭州市低保家庭子女入学资助办法"
DOCX_ARTICLES = [
    ("第一章 总则", None),
    (None, "为了帮助最低生活保障家庭的子女完成学业，根据《浙江省社会救助条例》，结合本市实际，制定本办法。"),
    (None, "本办法适用于本市户籍的最低生活保障家庭。"),
    ("第二章 资助标准", None),
    (None, "低保家庭子女考入全日制普通高校的，给予一次性入学资助，标准如下："),
    ("table", [["学历", "资助金额（元）", "发放时间"], ["本科", "5000", "每年9月"], ["专科", "4000", "每年9月"]]),
    (None, "入学资助由户籍所在地街道办事处（乡镇人民政府）受理，区、县（市）民政部门审核发放。"),
    (None, "本办法自2024年3月1日起施行。"),
]


def make_docx(path):
    """A 红头文件 as Word writes it: red header, 文号, title, chapters as headings, 第X条 drawn by
    Word's numbering (not in the paragraph text), a table, the 落款 and the 版记."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:multiLevelType w:val="singleLevel"/>'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="第%1条"/>'
        '<w:lvlJc w:val="left"/></w:lvl></w:abstractNum>'
    ))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    document.add_paragraph("杭州市民政局文件")
    document.add_paragraph("杭民发〔2024〕12号")
    document.add_heading(DOCX_TITLE, level=0)
    for heading, text in DOCX_ARTICLES:
        if heading == "table":
            table = document.add_table(rows=len(text), cols=len(text[0]))
            for r, row in enumerate(text):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        elif heading:
            document.add_heading(heading, level=1)
        else:
            paragraph = document.add_paragraph(text)
            numpr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
            numpr.get_or_add_ilvl().val = 0
            numpr.get_or_add_numId().val = 90
    document.add_paragraph("杭州市民政局")
    document.add_paragraph("2024年1月15日")
    document.add_paragraph("抄送：市财政局、市教育局。")
    document.add_paragraph("杭州市民政局办公室 2024年1月16日印发")
    document.save(str(path))
    return path


# -- PDF -----------------------------------------------------------------------------------------
PDF_TITLE = "萧山区困难老年人助餐补贴实施办法"
PDF_RUNNING_HEADER = "萧山区人民政府办公室行政规范性文件"
PDF_PARAGRAPHS = [
    ("center", "（2024年6月1日萧山区民政局印发 自2024年7月1日起施行）"),
    ("center", "第一章 总则"),
    ("text", "第一条 为了保障困难老年人的基本用餐需求，推进老年助餐服务体系建设，根据《浙江省社会养老服务促进条例》，结合本区实际，制定本办法。"),
    ("text", "第二条 本办法所称困难老年人，是指具有本区户籍、年满60周岁的最低生活保障、低保边缘家庭中的老年人和特困供养老年人。"),
    ("center", "第二章 补贴标准"),
    ("text", "第三条 困难老年人在区内老年食堂或者助餐点用餐的，每餐给予6元补贴，每人每日补贴以两餐为限；年满80周岁的，每餐补贴提高到8元。补贴资金由区财政和镇街按照7:3的比例分担，由老年食堂每月向所在镇街申请结算。"),
    ("text", "第四条 老年人凭身份证或者社会保障卡在老年食堂登记后即可享受补贴，无需另行提交申请材料。"),
    ("text", "第五条 本办法自2024年7月1日起施行。"),
    ("right", "杭州市萧山区民政局"),
    ("right", "2024年6月1日"),
]
PDF_BREAK_IN = "第三条"  # the article broken across the page break


def make_pdf(path):
    """Three A4 pages: justified lines, first lines indented by two characters, a running header
    and "— N —" on every page, 第三条 broken across pages 1 and 2."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font, size, left, right = "STSong-Light", 12, 72, 523
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4)
    state = {"page": 1, "y": 0}

    def new_page():
        pdf.setFont(font, 9)
        pdf.drawCentredString(width / 2, height - 40, PDF_RUNNING_HEADER)
        pdf.setFont(font, 10)
        pdf.drawCentredString(width / 2, 36, f"— {state['page']} —")
        state["y"] = height - 90

    def line(text, x, align="left", font_size=size):
        pdf.setFont(font, font_size)
        if align == "center":
            pdf.drawCentredString(width / 2, state["y"], text)
        elif align == "right":
            pdf.drawRightString(right, state["y"], text)
        else:
            pdf.drawString(x, state["y"], text)
        state["y"] -= font_size * 1.6

    def end_page():
        pdf.showPage()
        state["page"] += 1
        new_page()

    new_page()
    line(PDF_TITLE, 0, "center", 18)
    state["y"] -= 10
    for kind, text in PDF_PARAGRAPHS:
        if kind != "text":
            line(text, left, kind)
            continue
        rows, current, x_start = [], "", left + 2 * size
        for ch in text:
            if pdfmetrics.stringWidth(current + ch, font, size) > right - (x_start if not rows else left):
                rows.append(current)
                current = ""
            current += ch
        rows.append(current)
        for n, row in enumerate(rows):
            line(row, x_start if n == 0 else left)
            if text.startswith(PDF_BREAK_IN) and n == 0:
                end_page()
        if text.startswith("第四条"):
            end_page()
    pdf.showPage()
    pdf.save()
    return path


def make_scanned_pdf(path):
    """A PDF whose page is only a picture of text (no text layer)."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("RGB", (600, 300), "white")
    draw = ImageDraw.Draw(image)
    for y in range(20, 280, 30):
        draw.line([(30, y), (570, y)], fill="black", width=8)
    pdf = canvas.Canvas(str(path))
    pdf.drawImage(ImageReader(image), 72, 400, 450, 225)
    pdf.showPage()
    pdf.save()
    return path


def make_encrypted_pdf(path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), encrypt="s3cret")
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 700, "第一条 本办法自印发之日起施行。")
    pdf.showPage()
    pdf.save()
    return path


# -- a saved web page ----------------------------------------------------------------------------
HTML_TITLE = "关于做好2024年老年助餐服务工作的通知"
HTML_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="SiteName" content="杭州市余杭区人民政府">
<meta name="ColumnName" content="通知公告">
<meta name="ArticleTitle" content="关于做好2024年老年助餐服务工作的通知">
<meta name="PubDate" content="2024-05-20 09:30">
<meta name="ContentSource" content="杭州市余杭区民政局">
<title>关于做好2024年老年助餐服务工作的通知_通知公告_杭州市余杭区人民政府</title>
<style>.nav li { float: left; }</style>
<script>var _hmt = _hmt || [];</script>
</head>
<body>
<div class="header"><div class="logo">杭州市余杭区人民政府</div>
  <div class="search"><form><input name="q"><button>搜索</button></form></div></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
  <li><a href="/bsfw">办事服务</a></li><li><a href="/hdjl">互动交流</a></li></ul></div>
<div class="main">
  <div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 通知公告</div>
  <div class="article">
    <h1 class="title">关于做好2024年老年助餐服务工作的通知</h1>
    <div class="info">发布时间：2024-05-20 09:30　来源：杭州市余杭区民政局　浏览次数：<span id="hits">1024</span></div>
    <div id="zoom">
      <p>各镇人民政府、街道办事处：</p>
      <p>为进一步做好老年助餐服务，让老年人吃得安心、吃得实惠，现将有关事项通知如下：</p>
      <p><strong>一、补助对象和标准</strong></p>
      <p>本区户籍60周岁以上老年人在老年食堂或者助餐点用餐的，每餐补助3元；80周岁以上老年人每餐补助5元。</p>
      <table border="1">
        <tr><th>年龄</th><th>每餐补助</th></tr>
        <tr><td>60至79周岁</td><td>3元</td></tr>
        <tr><td>80周岁以上</td><td>5元</td></tr>
      </table>
      <p><strong>二、办理方式</strong></p>
      <p>老年人持身份证或者社会保障卡到就近的老年食堂登记，<br>登记后即可享受补助。</p>
      <p style="text-align: right">杭州市余杭区民政局</p>
      <p style="text-align: right">2024年5月20日</p>
    </div>
    <div class="share">分享到：<a>微信</a><a>微博</a></div>
    <div class="print"><a href="javascript:window.print()">【打印本页】</a><a>【关闭窗口】</a></div>
  </div>
  <div class="related"><h3>相关链接</h3><ul><li><a>余杭区养老服务补贴办法</a></li></ul></div>
</div>
<div class="footer"><p>主办单位：杭州市余杭区人民政府办公室　网站标识码：3301100001</p>
  <p>浙ICP备05002033号　浙公网安备 33011002011888号</p></div>
</body>
</html>
"""

EMPTY_HTML_PAGE = """<html><head><title>页面不存在_杭州市余杭区人民政府</title></head><body>
<div class="header">杭州市余杭区人民政府</div>
<div class="nav"><a href="/">首页</a><a href="/zwgk">政务公开</a></div>
<div class="footer">主办单位：杭州市余杭区人民政府办公室</div>
</body></html>
"""


def make_html(path, page=HTML_PAGE):
    path.write_text(page, encoding="utf-8")
    return path


def truncated(data, share=0.5):
    """The first part of a file, as an interrupted copy leaves it."""
    return data[: int(len(data) * share)]


OCR_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # Debian's fonts-noto-cjk
OCR_LINES = ["海宁市临时救助办法", "", "第一条 为了解决困难群众突发性、紧迫性、", "临时性基本生活困难，制定本办法。", "",
             "第二条 临时救助由户籍所在地镇人民政府、", "街道办事处受理。"]


def make_scanned_text_pdf(path):
    """A scan of a printed page: Chinese text drawn into a page image, no text layer."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = ImageFont.truetype(OCR_FONT, 40)
    image = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(OCR_LINES):
        draw.text((150, 150 + 70 * n), line, font=font, fill="black")
    pdf = canvas.Canvas(str(path))
    pdf.drawImage(ImageReader(image), 0, 0, 595, 842)
    pdf.showPage()
    pdf.save()
    return path


# -- hostile files (the fourth attack, docs/SECURITY.md "Fourth attack: uploads") -----------------
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
BOMB_PARAGRAPH = "<w:p><w:r><w:t>第一条 重复内容重复内容</w:t></w:r></w:p>".encode()


def without_numbering(path):
    """The .docx at `path` rewritten without its numbering part (word/numbering.xml, its
    relationship and its content type), which the format makes optional: paragraphs keep their
    text, nothing is numbered."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts.pop("word/numbering.xml")
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = re.sub(r"<Relationship [^>]*Target=\"numbering.xml\"[^>]*/>", "", rels).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = re.sub(r"<Override [^>]*PartName=\"/word/numbering.xml\"[^>]*/>", "", types).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def make_zip_bomb_docx(path, unpacked):
    """A real .docx (python-docx's own) whose word/document.xml is `unpacked` bytes of one
    paragraph repeated: a few hundred times smaller packed than unpacked."""
    import io
    import zipfile

    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}"><w:body>'.encode()
    tail = b"</w:body></w:document>"
    body = head + BOMB_PARAGRAPH * ((unpacked - len(head) - len(tail)) // len(BOMB_PARAGRAPH)) + tail
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item.filename, body if item.filename == "word/document.xml" else source.read(item.filename))
    return path


def make_many_entries_docx(path, entries):
    """A zip named .docx with `entries` empty parts and a content-types part that declares nothing."""
    import zipfile

    with zipfile.ZipFile(path, "w") as out:
        out.writestr("[Content_Types].xml", "<x/>")
        for n in range(entries - 1):
            out.writestr(f"junk/{n}.xml", "")
    return path


def make_deep_html(path, depth, article=""):
    """A page of `depth` <div> inside each other around one article line (after `article`, the
    paragraphs of the page's outer <div>)."""
    path.write_text("<html><body><div>" + article + "<div>" * depth + "第一条 深" + "</div>" * depth + "</div></body></html>", encoding="utf-8")
    return path


def make_many_pages_pdf(path, pages):
    """A PDF of `pages` pages, one article on each."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    from retrieval.formats.numerals import chinese

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for n in range(pages):
        pdf.setFont("STSong-Light", 12)
        pdf.drawString(72, 400, f"第{chinese(n + 1)}条 测试第{n + 1}页。")
        pdf.showPage()
    pdf.save()
    return path


def make_flate_bomb_pdf(path, unpacked, streams=1):
    """A one-page PDF whose content is `streams` /FlateDecode streams of spaces, `unpacked` bytes
    each after inflating (the fifth attack's: 1.5 MB that pdfminer inflated to 1.5 GB)."""
    import zlib

    def bomb():
        packer = zlib.compressobj(9)
        parts = [packer.compress(b"BT /F1 12 Tf 72 720 Td (A) Tj ET\n")]
        spaces = b" " * (1 << 20)
        for _ in range(unpacked // len(spaces)):
            parts.append(packer.compress(spaces))
        parts.append(packer.flush())
        return b"".join(parts)

    data = bomb()
    contents = " ".join(f"{5 + n} 0 R" for n in range(streams))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [{contents}] /Resources << /Font << /F1 4 0 R >> >> >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ] + [b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"] * streams
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path
