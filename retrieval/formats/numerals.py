"""Numbers as Word's numbering formats draw them: 3, 三, 十二, 一百零一, ③, c, iii."""

_DIGITS = "零一二三四五六七八九"
_UNITS = ("", "十", "百", "千")
_CHINESE = ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "japaneseCounting", "taiwaneseCounting", "koreanCounting")
_STEMS = "甲乙丙丁戊己庚辛壬癸"
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def chinese(n):
    """1 -> 一, 10 -> 十, 21 -> 二十一, 101 -> 一百零一, 1077 -> 一千零七十七 (up to 9999)."""
    if n <= 0 or n > 9999:
        return str(n)
    digits = str(n)
    out, zero = "", False
    for i, ch in enumerate(digits):
        d = int(ch)
        if d == 0:
            zero = True
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + _UNITS[len(digits) - 1 - i]
    return out[1:] if out.startswith("一十") else out


def number_text(n, fmt):
    if fmt in _CHINESE:
        return chinese(n)
    if fmt == "ideographDigital":
        return "".join("〇" if ch == "0" else _DIGITS[int(ch)] for ch in str(n))
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return _STEMS[n - 1]
    if fmt == "decimalEnclosedCircle" and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "decimalFullWidth":
        return str(n).translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    if fmt in ("lowerLetter", "upperLetter") and n >= 1:
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt in ("lowerRoman", "upperRoman") and n >= 1:
        out, rest = "", n
        for value, digits in _ROMAN:
            while rest >= value:
                out += digits
                rest -= value
        return out if fmt == "lowerRoman" else out.upper()
    return str(n)
