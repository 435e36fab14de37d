"""A formal document as an A4 PDF laid out as GB/T 9704 asks, from its rendered letter. Pure.

The letter (HTML from `letters/`) is read back into blocks: the address block of a letter by post
(`p.envelope`, filled in at print: addressee.py), the title (`h1`), the number (`p.number`), the
addressee (`p.to`), body paragraphs, notes (`p.note`) and the signature (`p.signature`: the issuing
organ and the date). They are set with reportlab's built-in CID font STSong-Light (no font files, no
system packages) unless the county mounts licensed TrueType fonts (`fonts_from`: 仿宋 for the body,
小标宋 for the title, settings `PDF_BODY_FONT`, `PDF_TITLE_FONT`): A4, margins 37 mm top, 35 mm
bottom, 28 mm left (binding side), 26 mm right; the title at 22 pt (二号), the body at 16 pt (三号)
with a two-character indent and about 28 characters a line, the number centred under the title
above a red rule, the organ and date at the right with a seal block (印章) over them, page numbers
14 pt (四号) as "— n —".
"""

import io
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, HRFlowable, Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import KeepTogether

FONT = "STSong-Light"
ENVELOPE_PT = 12
CJK_PROBE = "信访人答复意见书"  # a font a letter is set in has these characters
MARGINS = {"top": 37 * mm, "bottom": 35 * mm, "left": 28 * mm, "right": 26 * mm}
TITLE_PT, BODY_PT, PAGE_NO_PT = 22, 16, 14
RED = colors.HexColor("#E60012")

pdfmetrics.registerFont(UnicodeCIDFont(FONT))


class FontProblem(ValueError):
    """A configured font that cannot set a letter: not a TrueType file, or without Chinese characters."""


@dataclass(frozen=True)
class Fonts:
    """The registered font names a letter is set in: the body's (仿宋) and the title's (小标宋)."""

    body: str = FONT
    title: str = FONT


BUILT_IN = Fonts()


def _registered(path: Path, setting: str) -> str:
    name = f"county-{setting.lower()}"
    try:  # a TrueType collection (.ttc) gives its first face
        font = TTFont(name, str(path), subfontIndex=0)
    except (TTFError, OSError) as exc:
        raise FontProblem(f"{setting}={path}: not a TrueType font reportlab can embed: {exc}") from exc
    missing = [ch for ch in CJK_PROBE if ord(ch) not in font.face.charToGlyph]
    if missing:
        lacking = "".join(missing)
        raise FontProblem(f"{setting}={path}: the font has no glyphs for {lacking}: not a Chinese font")
    pdfmetrics.registerFont(font)
    return name


def fonts_from(body: Path | None, title: Path | None) -> Fonts:
    """The fonts to set letters in: each configured TrueType file registered (FontProblem if it cannot
    be), the built-in STSong-Light for each not configured."""
    return Fonts(
        body=_registered(body, "PDF_BODY_FONT") if body else FONT,
        title=_registered(title, "PDF_TITLE_FONT") if title else FONT,
    )


@dataclass(frozen=True)
class Block:
    """One paragraph of a letter: its role (`h1`, `number`, `to`, `p`, `note`, `signature`), its lines."""

    role: str
    lines: tuple[str, ...]


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._role: str | None = None
        self._lines: list[str] = []
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "title"):
            self._in_head = True
        elif tag in ("h1", "p"):
            css = dict(attrs).get("class") or ""
            self._role = "h1" if tag == "h1" else (css.split()[0] if css else "p")
            self._lines = [""]
        elif tag == "br" and self._role:
            self._lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title"):
            self._in_head = False
        elif tag in ("h1", "p") and self._role:
            lines = tuple(line.strip() for line in self._lines if line.strip())
            if lines:
                self.blocks.append(Block(self._role, lines))
            self._role = None

    def handle_data(self, data: str) -> None:
        if self._role and not self._in_head:
            self._lines[-1] += " ".join(data.split())


def blocks_of(html: str) -> list[Block]:
    """The paragraphs of a rendered letter, in order."""
    parser = _Blocks()
    parser.feed(html)
    return parser.blocks


def _styles(fonts: Fonts) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body",
        fontName=fonts.body,
        fontSize=BODY_PT,
        leading=BODY_PT * 1.75,
        wordWrap="CJK",
        alignment=TA_JUSTIFY,
        firstLineIndent=2 * BODY_PT,
    )
    return {
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName=fonts.title,
            fontSize=TITLE_PT,
            leading=TITLE_PT * 1.6,
            alignment=TA_CENTER,
            firstLineIndent=0,
            spaceAfter=BODY_PT / 2,
        ),
        "number": ParagraphStyle("number", parent=body, alignment=TA_CENTER, firstLineIndent=0),
        "to": ParagraphStyle("to", parent=body, firstLineIndent=0),
        "p": body,
        "note": ParagraphStyle("note", parent=body, fontSize=BODY_PT - 2, leading=(BODY_PT - 2) * 1.75),
        "envelope": ParagraphStyle(
            "envelope",
            parent=body,
            fontSize=ENVELOPE_PT,
            leading=ENVELOPE_PT * 1.5,
            alignment=TA_LEFT,
            firstLineIndent=0,
            spaceAfter=BODY_PT,
        ),
        "signature": ParagraphStyle(
            "signature", parent=body, alignment=TA_RIGHT, firstLineIndent=0, rightIndent=4 * BODY_PT
        ),
    }


class Seal(Flowable):
    """The seal block (印章位置): a circle over the issuing organ's name, where the organ stamps its seal."""

    def __init__(self, width: float, font: str) -> None:
        super().__init__()
        self.width, self.height, self.font = width, 0, font

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setStrokeColor(RED)
        c.setDash(3, 3)
        radius = 21 * mm
        c.circle(self.width - 4 * BODY_PT - 20 * mm, 12 * mm, radius, stroke=1, fill=0)
        c.setFillColor(RED)
        c.setFont(self.font, 9)
        c.drawCentredString(self.width - 4 * BODY_PT - 20 * mm, 12 * mm - 3, "（印章）")
        c.restoreState()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(FONT, PAGE_NO_PT)  # the page number's digits and dashes: the built-in font has them
    x = A4[0] - MARGINS["right"] - 1 * BODY_PT if doc.page % 2 else MARGINS["left"] + 1 * BODY_PT
    text = f"— {doc.page} —"
    draw = canvas.drawRightString if doc.page % 2 else canvas.drawString
    draw(x, MARGINS["bottom"] - 7 * mm - PAGE_NO_PT, text)
    canvas.restoreState()


def render_pdf(html: str, *, title: str, subject: str = "", fonts: Fonts = BUILT_IN) -> bytes:
    """The letter as a PDF on A4 (the same bytes for the same letter: no time stamp in the file)."""
    styles = _styles(fonts)
    width = A4[0] - MARGINS["left"] - MARGINS["right"]
    story: list[Flowable] = []
    signature: list[Flowable] = []
    for block in blocks_of(html):
        if block.role == "seal":  # the letter's mark for the seal: the Seal block draws it
            continue
        text = "<br/>".join(_escape(line) for line in block.lines)
        style = styles.get(block.role, styles["p"])
        if block.role == "signature":
            signature = [Spacer(1, BODY_PT * 2), Seal(width, fonts.body), Paragraph(text, style)]
            continue
        story.append(Paragraph(text, style))
        if block.role == "number":
            story.append(HRFlowable(width="100%", thickness=1, color=RED, spaceBefore=4, spaceAfter=BODY_PT))
    if signature:
        story.append(KeepTogether(signature))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        topMargin=MARGINS["top"],
        bottomMargin=MARGINS["bottom"],
        leftMargin=MARGINS["left"],
        rightMargin=MARGINS["right"],
        title=title,
        subject=subject,
        creator="county-dispatch notify",
        invariant=1,
    )
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buf.getvalue()
