"""Which document an occasion makes, how it is numbered, which language it is told in, and its PDF."""

import io
from pathlib import Path

from pypdf import PdfReader

from services.notify.domain.documents import document_id, document_number, load_documents
from services.notify.domain.languages import choose_language, petitioner_preferences
from services.notify.domain.occasion import Occasion
from services.notify.domain.pdf import blocks_of, render_pdf

DATA = Path(__file__).resolve().parents[3] / "data"
BOOK = load_documents(DATA / "notify" / "documents.json", DATA / "county" / "990102")


def test_each_rung_of_the_escalation_ladder_makes_its_own_letter_and_a_review_its_stage():
    rungs = {
        level: BOOK.owed(Occasion(["escalation"], "c1", {}, level=level))
        for level in ("reminder", "supervision_letter", "circular", "interview")
    }
    assert rungs == {
        "reminder": ["reminder_letter"],
        "supervision_letter": ["supervision_letter"],
        "circular": ["circular_letter"],
        "interview": ["interview_notice"],
    }
    assert BOOK.owed(Occasion(["review_answer"], "c1", {"stage": "复核"})) == ["re_review_opinion"]
    assert BOOK.owed(Occasion(["progress"], "c1", {})) == []


def test_numbers_follow_gb_t_9704_and_ids_follow_the_event():
    assert document_number("示信", "复", 2026, 7) == "示信复〔2026〕7号"
    assert document_id("e1", "reply_opinion") == document_id("e1", "reply_opinion")
    assert document_id("e1", "reply_opinion") != document_id("e2", "reply_opinion")
    assert BOOK.issuer.number_prefix == "示信" and BOOK.issuer.languages[0] == "zh"


def test_a_language_is_used_only_where_the_county_lists_it_and_a_template_exists():
    supported = ("zh", "en", "ug")
    assert choose_language("en", supported, lambda lang: True).used == "en"
    fallback = choose_language("ug", supported, lambda lang: False)
    assert (fallback.used, fallback.fallback, fallback.fallback_reason) == ("zh", True, "no template in ug")
    assert (
        choose_language("fr", supported, lambda lang: True).fallback_reason
        == "fr is not a language of the county"
    )
    assert not choose_language(None, supported, lambda lang: False).fallback
    case = {
        "petitioner": {"notify_channel": "sms", "language": "en"},
        "preferences": {"notify_channel": "post"},
    }
    assert petitioner_preferences(case) == {"notify_channel": "post", "language": "en"}


def test_the_pdf_is_a4_with_the_letters_paragraphs_and_the_same_bytes_each_time():
    html = (
        '<html><head><title>t</title></head><body><h1>答复意见书</h1><p class="number">示信复〔2026〕1号</p>'
        '<p class="to">张*：</p><p>正文'
        + "很长"
        * 200
        + '</p><p class="signature">示范县信访局<br>2026年03月01日</p>'
        '<p class="seal">（印章）</p></body></html>'
    )
    assert [b.role for b in blocks_of(html)] == ["h1", "number", "to", "p", "signature", "seal"]
    pdf = render_pdf(html, title="答复意见书")
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842) and len(reader.pages) >= 2
    text = "".join(p.extract_text() for p in reader.pages)
    assert "示信复〔2026〕1号" in text and "示范县信访局" in text and text.count("（印章）") == 1
    assert render_pdf(html, title="答复意见书") == pdf
