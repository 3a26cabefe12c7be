"""Paper text for HTML pages: TeX maths ($...$, $$...$$, \\(...\\)) as MathML, the rest escaped.

Chromium, Firefox and Safari render MathML natively, so pages need no script and the CSP stays
closed. latex2mathml's output is not safe as it stands (`\\text{<b>}` comes out unescaped, `\\href`
becomes an attribute), so it is parsed and rebuilt from an allowlist of MathML elements and
attributes; whatever does not convert or does not pass shows as the raw TeX, escaped.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape

from defusedxml import ElementTree as SafeET

MAX_TEX_CHARS = 500  # longer "formulas" are usually stray dollar signs around prose: shown as text
_MATH = re.compile(r"(?<!\\)\$\$(?P<display>.+?)\$\$|(?<![\\$])\$(?=\S)(?P<inline>[^$]+?)(?<=\S)(?<!\\)\$|\\\((?P<paren>.+?)\\\)", re.S)
_TEXT_ESCAPE = re.compile(r"\\([%&_#$])")  # 2.6\% in an abstract reads 2.6%
MATHML_ELEMENTS = frozenset(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup mfrac msqrt mroot mover munder munderover "
    "mtable mtr mtd mstyle mpadded mphantom menclose mmultiscripts mprescripts none semantics annotation".split()
)
MATHML_ATTRIBUTES = frozenset(
    "display mathvariant stretchy fence separator lspace rspace accent accentunder linethickness columnalign "
    "rowspacing columnspacing columnlines rowlines width height depth minsize maxsize movablelimits "
    "displaystyle scriptlevel notation form largeop symmetric encoding".split()
)


class UnsafeMathML(ValueError):
    """The converter produced an element or attribute outside the allowlist."""


def text_with_math_html(text: str) -> str:
    """HTML for a title or abstract: maths as MathML (raw TeX as its alttext), everything else escaped."""
    parts: list[str] = []
    position = 0
    for found in _MATH.finditer(text):
        parts.append(_plain_html(text[position : found.start()]))
        tex = found.group("display") or found.group("inline") or found.group("paren")
        parts.append(formula_html(tex, found.group(0), display=found.group("display") is not None))
        position = found.end()
    parts.append(_plain_html(text[position:]))
    return "".join(parts)


def formula_html(tex: str, raw: str, *, display: bool = False) -> str:
    """One formula as sanitized MathML, or the raw TeX (escaped) when it cannot be converted safely."""
    if len(tex) > MAX_TEX_CHARS:
        return escape(raw)
    from latex2mathml.converter import convert  # imported on the first formula: pages without maths never load it

    mode = "block" if display else "inline"
    # latex2mathml copies \text{...} verbatim into its XML: a second try with < and > as entities keeps \texttt{<SEG>}.
    for attempt in dict.fromkeys((tex.strip(), tex.strip().replace("<", "&lt;").replace(">", "&gt;"))):
        try:
            rebuilt = _allowed_copy(SafeET.fromstring(convert(attempt, display=mode)))
            break
        except Exception:  # the converter raises many kinds on bad TeX; any of them means "try again or show the TeX"
            continue
    else:
        return f'<code class="tex">{escape(raw)}</code>'
    rebuilt.set("alttext", raw)
    return ET.tostring(rebuilt, encoding="unicode", method="html")


def _allowed_copy(element: ET.Element) -> ET.Element:
    name = element.tag.rsplit("}", 1)[-1]
    if name not in MATHML_ELEMENTS:
        raise UnsafeMathML(name)
    copy = ET.Element(name, {key: value for key, value in element.attrib.items() if key in MATHML_ATTRIBUTES})
    if len(copy.attrib) != len([key for key in element.attrib if not key.startswith("{")]):
        raise UnsafeMathML(f"attributes of {name}")
    copy.text, copy.tail = element.text, element.tail
    copy.extend(_allowed_copy(child) for child in element)
    return copy


def _plain_html(text: str) -> str:
    return escape(_TEXT_ESCAPE.sub(r"\1", text))
