"""The digest SMS (two segments, link whole) and the heatmap SVG (escaped, one cell per day)."""

from __future__ import annotations

from service.core.digest_text import digest_sms_text, heatmap_svg
from service.core.sms_text import segment_count

LINK = "https://tend.example/d/" + "x" * 32


def payload(*subjects, best=12, reliability=0.88, change=0.05):
    return {
        "week_start": "2026-11-30",
        "subjects": [
            {
                "kind": "ritual",
                "id": n,
                "title": title,
                "kept": kept,
                "expected": expected,
                "days": ["kept", "missed", "skipped", "pending", None, None, None],
            }
            for n, (title, kept, expected) in enumerate(subjects, start=1)
        ],
        "best_streak": {"kind": "ritual", "id": 1, "title": "x", "current_streak": best} if best else None,
        "reliability": reliability,
        "reliability_change": change,
    }


def test_it_lists_each_subject_with_the_streak_reliability_and_link():
    text = digest_sms_text(payload(("Morning coffee talk", 6, 7), ("Sunday walk", 1, 1)), LINK)
    assert text == (
        f"Tend week: Morning coffee talk 6/7, Sunday walk 1/1. Best streak 12. Reliability 88% (+5). More: {LINK}"
    )


def test_long_titles_are_cut_to_fit_two_segments_and_the_link_stays_whole():
    text = digest_sms_text(payload(*((f"A very long ritual title number {n} " * 3, 3, 7) for n in range(3))), LINK)
    assert segment_count(text) <= 2
    assert text.endswith(f"More: {LINK}")


def test_subjects_that_cannot_fit_are_counted_as_more():
    text = digest_sms_text(payload(*((f"Ritual number {n:02d}", 1, 2) for n in range(20))), LINK)
    assert segment_count(text) <= 2
    assert "more." in text and LINK in text


def test_a_week_with_nothing_counted_says_so_without_figures():
    text = digest_sms_text(payload(best=0, reliability=None, change=None), LINK)
    assert text == f"Tend week: nothing scheduled. More: {LINK}"


def test_a_subject_with_nothing_scheduled_in_the_week_is_left_out_of_the_sms():
    """Alice's sample said "Book the restaurant 0/0" for a promise due after the week."""
    text = digest_sms_text(payload(("Evening walk", 3, 5), ("Book the restaurant", 0, 0)), LINK)
    assert text.startswith("Tend week: Evening walk 3/5. Best streak") and "0/0" not in text
    alone = digest_sms_text(payload(("Book the restaurant", 0, 0), best=0, reliability=None, change=None), LINK)
    assert alone == f"Tend week: nothing scheduled. More: {LINK}"


def test_a_drop_in_reliability_shows_a_minus():
    assert "Reliability 40% (-12)." in digest_sms_text(payload(("Walk", 2, 5), reliability=0.4, change=-0.12), LINK)


def test_the_heatmap_escapes_titles_and_draws_a_cell_per_day():
    svg = heatmap_svg(payload(("<script>alert(1)</script>", 1, 2), ("Walk", 0, 1)))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 14
    assert 'viewBox="0 0 ' in svg


def test_the_heatmap_titles_a_square_with_the_day_as_the_pages_write_it():
    svg = heatmap_svg(payload(("Walk", 1, 2)))
    assert "<title>Walk, Mon 30 Nov: kept</title>" in svg and "<title>Walk, Sat 5 Dec: nothing scheduled</title>" in svg


def test_a_long_title_wraps_in_the_heatmap_and_is_never_cut():
    svg = heatmap_svg(payload(("Book the restaurant for Friday", 1, 2), ("Walk", 0, 1)))
    assert "..." not in svg
    lines = ("Book the", "restaurant for", "Friday")
    assert "".join(f'<tspan x="0" dy="{0 if i == 0 else 14}">{line}</tspan>' for i, line in enumerate(lines)) in svg
    assert svg.count("<rect") == 14
