import re
from datetime import UTC, date, datetime
from typing import get_args

import pytest

from service.core import sms_text
from service.core.replies import Command
from service.core.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    ReminderItem,
    TextTooLong,
    checkin_confirmation_text,
    code_text,
    fit_segments,
    follow_up_text,
    help_text,
    invitation_text,
    is_gsm7,
    not_me_text,
    nothing_open_text,
    opted_in_text,
    opted_out_text,
    paused_text,
    promise_kept_text,
    reminder_text,
    resumed_text,
    segment_count,
    streaks_text,
    together_text,
    unknown_sender_text,
)

AT_7_30 = datetime(2026, 5, 4, 7, 30)
AT_18_00 = datetime(2026, 5, 4, 18, 0)
LONG_TITLE = "Morning coffee talk on the balcony before the kids wake up " * 10


def fits(text: str) -> bool:
    return segment_count(text) <= 2


# GSM-7 detection


def test_the_gsm7_tables_have_the_3gpp_sizes():
    assert (len(GSM7_BASIC), len(GSM7_EXTENSION)) == (127, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plain ASCII, with 'quotes' & (brackets)?", True),
        ("Café à Paris, Ñoño, Straße", True),
        ("Ñandú", False),
        ("Price: 5€ [sic] {x} ~ ^ | \\", True),
        ("", True),
        ("Szczęśliwy spacer", False),
        ("Łódź", False),
        ("Kraków walk: ń", False),
        ("Morning coffee ☕", False),
        ("Done 👍", False),
        ("Mum’s call", False),
        ("Wait…", False),
        ("ç", False),
    ],
)
def test_it_detects_gsm7(text, expected):
    assert is_gsm7(text) is expected


# segment counts at the boundaries


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("ń" * 70, 1),
        ("ń" * 71, 2),
        ("ń" * 134, 2),
        ("ń" * 135, 3),
        ("€" * 80, 1),
        ("a" + "€" * 80, 2),
        ("😀" * 35, 1),
        ("a" + "😀" * 35, 2),
    ],
)
def test_it_counts_segments_at_the_boundaries(text, segments):
    assert segment_count(text) == segments


def test_it_never_splits_an_escape_sequence_between_segments():
    # 306 septets, but the € straddles the 153 boundary and moves whole to part two.
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3


def test_it_never_splits_a_surrogate_pair_between_segments():
    assert segment_count("a" * 66 + "😀" + "a" * 66) == 3


# fit_segments


def test_it_leaves_a_fitting_text_alone():
    assert fit_segments(lambda t: f"Hello {t}", "Sam") == "Hello Sam"


def test_it_cuts_the_longest_field_first_and_marks_the_cut():
    text = fit_segments(lambda a, b: f"{a} / {b}", "Sam", "x" * 1000, max_segments=1)
    assert text.startswith("Sam / xxx") and text.endswith("...")
    assert len(text) == 160


def test_it_collapses_line_breaks_and_straightens_quotes_in_fields():
    assert fit_segments(lambda t: t, "Mum’s\n  “call”") == 'Mum\'s "call"'


def test_it_transliterates_to_gsm7_when_ucs2_cannot_fit():
    # Ten uncut titles need 199 UCS-2 units (> 134) but only 169 GSM-7 septets.
    titles = ["Spacer w Łodzi ń 🌳"] * 10
    text = fit_segments(lambda *ts: " ".join(ts), *titles, min_field_length=20)
    assert text == " ".join(["Spacer w ?odzi n"] * 10)


def test_it_reports_a_template_that_can_never_fit():
    with pytest.raises(TextTooLong):
        fit_segments(lambda t: "x" * 400 + t, "Sam")


# reminders


def test_a_single_ritual_reminder_reads_like_the_spec():
    item = ReminderItem("Morning coffee talk", AT_7_30, with_names=("Sam",))
    assert reminder_text([item]) == (
        "Tend: Morning coffee talk with Sam at 7:30. Reply DONE when you've had it, or SKIP."
    )


def test_a_single_promise_reminder_names_the_recipient_and_the_due_time():
    item = ReminderItem("call at 6", AT_18_00, with_names=("Sam",), kind="promise")
    assert reminder_text([item]) == (
        "Tend: your promise to Sam: call at 6 (due 18:00). Reply DONE when you've kept it, or SKIP."
    )


def test_it_writes_times_as_24h_without_a_leading_zero():
    midnight = ReminderItem("Night walk", datetime(2026, 5, 4, 0, 0))
    five_past_nine = ReminderItem("Tea", datetime(2026, 5, 4, 21, 5))
    assert " at 0:00." in reminder_text([midnight])
    assert " at 21:05." in reminder_text([five_past_nine])


def test_it_joins_several_names():
    item = ReminderItem("Sunday walk", AT_7_30, with_names=("Sam", "Kim", "Jo"))
    assert "Sunday walk with Sam, Kim and Jo at 7:30." in reminder_text([item])


def test_several_items_at_one_time_are_numbered_with_the_time_once():
    items = [
        ReminderItem("Morning coffee talk", AT_7_30),
        ReminderItem("Device-free dinner", AT_7_30),
    ]
    assert reminder_text(items) == (
        "Tend at 7:30: 1) Morning coffee talk 2) Device-free dinner. Reply DONE or SKIP with its number, like DONE 1."
    )


def test_items_at_different_times_each_show_their_own():
    items = [
        ReminderItem("Morning coffee talk", AT_7_30, with_names=("Sam",)),
        ReminderItem("call at 6", AT_18_00, with_names=("Sam",), kind="promise"),
    ]
    assert reminder_text(items) == (
        "Tend: 1) Morning coffee talk with Sam at 7:30 "
        "2) your promise to Sam: call at 6 (due 18:00). "
        "Reply DONE or SKIP with its number, like DONE 1."
    )


def test_a_very_long_title_is_cut_to_fit_two_segments():
    text = reminder_text([ReminderItem(LONG_TITLE, AT_7_30, with_names=("Sam",))])
    assert fits(text) and is_gsm7(text)
    assert text.startswith("Tend: Morning coffee talk on the balcony")
    assert text.endswith("... with Sam at 7:30. Reply DONE when you've had it, or SKIP.")


def test_nine_items_with_long_titles_still_fit_two_segments():
    items = [ReminderItem(f"{LONG_TITLE} {n}", AT_7_30, with_names=("Sam", "Kim")) for n in range(9)]
    text = reminder_text(items)
    assert fits(text)
    assert all(f"{n}) Morning coffee" in text for n in range(1, 10))


def test_nine_promises_at_different_times_fall_back_to_numbered_titles():
    items = [ReminderItem(f"{LONG_TITLE} {n}", datetime(2026, 5, 4, 18, n), ("Sam",), "promise") for n in range(9)]
    text = reminder_text(items)
    assert fits(text)
    assert "9) Morning" in text and "due" not in text


def test_twenty_items_with_emoji_titles_still_fit():
    items = [ReminderItem(f"Walk 🌳 {LONG_TITLE}", datetime(2026, 5, 4, 7, n), ("Sam",), "promise") for n in range(20)]
    text = reminder_text(items)
    assert fits(text) and "20) Walk" in text


def test_a_non_gsm_title_makes_the_reminder_ucs2_within_two_segments():
    text = reminder_text([ReminderItem("Spacer w Łodzi 🌳", AT_7_30, with_names=("Kasia",))])
    assert text == ("Tend: Spacer w Łodzi 🌳 with Kasia at 7:30. Reply DONE when you've had it, or SKIP.")
    assert not is_gsm7(text) and segment_count(text) == 2


def test_a_long_non_gsm_title_keeps_ucs2_and_is_cut_to_fit():
    text = reminder_text([ReminderItem("Spacer 🌳 " + LONG_TITLE, AT_7_30)])
    assert "🌳" in text and fits(text)


def test_a_curly_apostrophe_in_a_title_does_not_force_ucs2():
    text = reminder_text([ReminderItem("Mum’s call", AT_7_30)])
    assert "Mum's call" in text and is_gsm7(text)


def test_a_reminder_needs_one_to_twenty_items():
    with pytest.raises(ValueError):
        reminder_text([])
    with pytest.raises(ValueError):
        reminder_text([ReminderItem("Tea", AT_7_30)] * 21)


def test_a_reminder_item_refuses_an_aware_time():
    with pytest.raises(ValueError):
        ReminderItem("Tea", AT_7_30.replace(tzinfo=UTC))


def test_a_reminder_item_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        ReminderItem("Tea", AT_7_30, kind="chore")


# the other texts


def test_the_invitation_names_only_the_inviter_and_asks_for_join():
    text = invitation_text("Alex")
    assert text.startswith("Tend: Alex invited you")
    assert "Reply JOIN to join, NO to decline" in text and "STOP" in text


def test_the_code_text_is_one_gsm7_segment_and_says_signing_in_is_consent():
    text = code_text("123456")
    assert is_gsm7(text) and segment_count(text) == 1
    assert "123456" in text and "agree to get Tend's texts" in text and "STOP" in text


# Commands HELP need not name: the answers to an invitation (the invitation names them), HELP itself, Twilio's
# START (a number that said STOP gets no help text), a bare number answering a question, and anything unknown.
NOT_IN_HELP = {"join", "no", "yes", "help", "start", "choose", "unknown"}


def test_the_help_text_is_one_gsm7_segment_listing_every_command():
    """Every command of the SMS grammar a member can send, set-up commands too (a partner who never opens a
    browser learns them here), in one GSM-7 segment."""
    text = help_text()
    assert is_gsm7(text) and segment_count(text) == 1
    for command in set(get_args(Command)) - NOT_IN_HELP:
        assert re.search(rf"\b{command.replace('_', ' ').upper()}\b", text), command


def test_a_promise_kept_text_says_who_kept_what():
    assert promise_kept_text("Sam", "call at 6", late=False) == ("Tend: Sam kept their promise: call at 6.")
    assert promise_kept_text("Sam", "call at 6", late=True) == (
        "Tend: Sam kept their promise, a little late: call at 6."
    )


def test_a_promise_kept_text_carries_the_keepers_note():
    assert promise_kept_text("Sam", "call at 6", late=False, note="sorry it was short") == (
        'Tend: Sam kept "call at 6": "sorry it was short"'
    )


def test_the_together_notice_says_who_checked_in_for_whom_and_the_streak():
    assert together_text("Alex", "Evening walk", "done", 5, 2) == (
        "Tend: Alex checked in Evening walk for you both. 5 in a row. Reply NOT ME if you didn't take part."
    )
    assert together_text("Alex", "Evening walk", "skipped", 0, 3) == (
        "Tend: Alex skipped Evening walk for all of you. Reply NOT ME if that's not so."
    )


def test_the_follow_up_names_those_done():
    assert follow_up_text("Evening walk", ["Sam"]) == (
        "Tend: Still time for Evening walk? Sam has done theirs. Reply DONE or SKIP."
    )
    assert follow_up_text("Dinner", ["Sam", "Kim"]) == (
        "Tend: Still time for Dinner? Sam and Kim have done theirs. Reply DONE or SKIP."
    )
    assert follow_up_text("Dinner", []) == "Tend: Still time for Dinner? Reply DONE or SKIP."


def test_a_promise_kept_text_fits_with_a_huge_title():
    text = promise_kept_text("Sam " * 50, LONG_TITLE, late=True)
    assert text.endswith("....") and segment_count(text) <= 2


@pytest.mark.parametrize(
    ("outcome", "streak", "expected"),
    [
        ("done", 5, "Kept! Morning coffee talk: 5 in a row."),
        ("on_time", 2, "Kept! Morning coffee talk: 2 in a row."),
        ("done", 1, "Kept! Morning coffee talk: a new streak begins."),
        ("late", 3, "Kept, a bit late! Morning coffee talk: 3 in a row."),
        ("skipped", 5, "Skipped Morning coffee talk. Your streak stays at 5."),
        ("skipped", 0, "Skipped Morning coffee talk."),
    ],
)
def test_it_confirms_a_checkin_with_the_streak(outcome, streak, expected):
    assert checkin_confirmation_text("Morning coffee talk", outcome, streak) == expected


def test_it_refuses_to_confirm_a_missed_occurrence():
    with pytest.raises(ValueError):
        checkin_confirmation_text("Tea", "missed", 0)


def test_the_streaks_text_lists_each_subject():
    lines = [("Morning coffee talk", 5), ("Sunday walk", 2)]
    assert streaks_text(lines) == "Your streaks: Morning coffee talk 5, Sunday walk 2"


def test_the_streaks_text_has_a_friendly_line_for_no_streaks():
    assert streaks_text([]) == "No streaks yet. Reply DONE after your next reminder to start one."


def test_the_streaks_text_sums_up_lines_that_cannot_fit():
    lines = [(f"{LONG_TITLE} {n}", n) for n in range(200)]
    text = streaks_text(lines)
    assert fits(text)
    assert text.startswith("Your streaks: Morning c... 0, Morning c... 1, ")
    assert text.endswith(" more")


def test_the_paused_text_gives_the_local_day_reminders_come_back():
    assert paused_text(7, date(2026, 5, 11)) == (
        "Paused for 7 days. Reminders start again Mon 11 May. Reply RESUME to restart sooner."
    )
    assert paused_text(1, date(2026, 12, 25)).startswith("Paused for 1 day. ")


@pytest.mark.parametrize(
    "text",
    [
        help_text(),
        unknown_sender_text(),
        resumed_text(),
        opted_out_text(),
        opted_in_text(),
        nothing_open_text(),
        paused_text(365, date(2027, 5, 4)),
    ],
)
def test_fixed_texts_are_single_gsm7_segments(text):
    assert is_gsm7(text) and segment_count(text) == 1


def test_user_supplied_parts_can_never_push_a_text_past_two_segments():
    huge = "Ążę 🌳 " * 200
    texts = [
        invitation_text(huge),
        promise_kept_text(huge, huge, late=False),
        promise_kept_text(huge, huge, late=True, note=huge),
        together_text(huge, huge, "done", 12, 2),
        together_text(huge, huge, "skipped", 0, 3),
        follow_up_text(huge, [huge, huge, huge]),
        not_me_text(huge),
        checkin_confirmation_text(huge, "late", 12),
        checkin_confirmation_text(huge, "skipped", 12),
        streaks_text([(huge, 3)] * 30),
        reminder_text([ReminderItem(huge, AT_7_30, (huge,), "promise")]),
    ]
    assert all(fits(text) for text in texts)


def test_the_promise_kept_notice_stays_gsm7_when_the_title_does():
    assert is_gsm7(promise_kept_text("Sam", "call at 6", late=False))


def test_texts_tend_starts_name_it_and_replies_do_not_except_the_carriers_keywords():
    from service.core import sms_text
    from service.core.digest_text import digest_sms_text

    item = ReminderItem("Walk", AT_7_30, ("Sam",), "ritual")
    started = [
        reminder_text([item]),
        reminder_text([item, ReminderItem("Tea", AT_7_30, ("Sam",), "ritual")]),
        code_text("123456"),
        invitation_text("Sam"),
        promise_kept_text("Sam", "Call", late=False),
        digest_sms_text({"subjects": [], "best_streak": None, "reliability": None}, "http://t/d/x"),
    ]
    assert all(text.startswith("Tend") for text in started), started
    replies = [
        sms_text.declined_text(),
        sms_text.not_joined_text(),
        sms_text.joined_text("Us"),
        checkin_confirmation_text("Walk", "done", 2),
        streaks_text([("Walk", 2)]),
        paused_text(7, date(2026, 5, 11)),
        resumed_text(),
        nothing_open_text(),
        sms_text.no_such_item_text(3),
        sms_text.too_late_text("Walk"),
        sms_text.already_recorded_text("Walk"),
    ]
    assert not any(text.startswith("Tend") for text in replies), replies
    required = [help_text(), opted_out_text(), opted_in_text(), unknown_sender_text()]
    assert all(text.startswith("Tend: ") for text in required), required


def test_set_up_echoes_stay_gsm7_within_two_segments():
    title = "A very long evening walk around the lake and back past the bakery " * 3
    echoes = [
        sms_text.draft_ritual_text(title, "Mon–Fri at 7:00 PM", ["Alexandra", "Samuel"], 15),
        sms_text.draft_promise_text(title, "Wed 2 Dec at 5:00 PM", "Alexandra"),
        sms_text.draft_move_text(title, "Every other Fri at 8:00 PM", ["Alexandra"]),
        sms_text.listed_text([(title, "Wed 2 Dec at 5:00 PM")] * 10),
    ]
    for echo in echoes:
        assert sms_text.is_gsm7(echo), echo
        assert sms_text.segment_count(echo) <= 2, echo
    assert "Mon-Fri at 7:00 PM" in echoes[0]
    assert "for you, Alexandra and Samuel:" in echoes[0]
