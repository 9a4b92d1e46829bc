import pytest

from service.core.replies import OPT_IN_WORDS, OPT_OUT_WORDS, Reply, parse_reply

UNKNOWN = Reply("unknown")

# Real-world replies to a Tend reminder and what each must mean.
REPLIES = [
    # done, however it is typed
    ("DONE", Reply("done")),
    ("Done!", Reply("done")),
    ("dONE.", Reply("done")),
    ("done", Reply("done")),
    ("  done  ", Reply("done")),
    ("Done :)", Reply("done")),
    ("D", Reply("done")),
    ("d", Reply("done")),
    ("✅", Reply("done")),
    ("👍", Reply("done")),
    ("👍🏽", Reply("done")),
    ("👍🏿", Reply("done")),
    ("✔️", Reply("done")),
    ("✔", Reply("done")),
    ("✓", Reply("done")),
    ("ＤＯＮＥ", Reply("done")),
    ("done thanks", Reply("done")),
    ("Done, thank you!", Reply("done")),
    ("all done", Reply("done")),
    ("it's done", Reply("done")),
    ("ok done", Reply("done")),
    # done with an item number
    ("DONE 2", Reply("done", item=2)),
    ("done 2", Reply("done", item=2)),
    ("done #2", Reply("done", item=2)),
    ("Done #2!", Reply("done", item=2)),
    ("d2", Reply("done", item=2)),
    ("D 1", Reply("done", item=1)),
    ("done-3", Reply("done", item=3)),
    ("done 2️⃣", Reply("done", item=2)),
    ("done 20", Reply("done", item=20)),
    ("done 2 thanks", Reply("done", item=2)),
    # skip
    ("SKIP", Reply("skip")),
    ("skip", Reply("skip")),
    ("S", Reply("skip")),
    ("s", Reply("skip")),
    ("skip today", Reply("skip")),
    ("Skip for today pls", Reply("skip")),
    ("skip 1", Reply("skip", item=1)),
    ("S3", Reply("skip", item=3)),
    # yes: the caller decides between opt-in, join and done
    ("YES", Reply("yes")),
    ("yes!!", Reply("yes")),
    ("Y", Reply("yes")),
    ("y", Reply("yes")),
    ("Yes please", Reply("yes")),
    # streaks
    ("STREAK", Reply("streak")),
    ("streak?", Reply("streak")),
    ("Streaks", Reply("streak")),
    # pause and resume
    ("PAUSE 7", Reply("pause", days=7)),
    ("pause 7 days", Reply("pause", days=7)),
    ("pause 1 day", Reply("pause", days=1)),
    ("Pause for 3 days please", Reply("pause", days=3)),
    ("pause 7d", Reply("pause", days=7)),
    ("pause 2 weeks", Reply("pause", days=14)),
    ("pause 365", Reply("pause", days=365)),
    # out of range: read as said, refused by the domain's rule (editing.pause_person), which names the range
    ("pause 0", Reply("pause", days=0)),
    ("pause 366", Reply("pause", days=366)),
    ("pause 53 weeks", Reply("pause", days=371)),
    ("pause -3", Reply("pause", days=-3)),
    ("PAUSE", Reply("pause")),
    ("pause.", Reply("pause")),
    ("RESUME", Reply("resume")),
    ("resume", Reply("resume")),
    ("Résumé", Reply("resume")),
    ("unpause", Reply("resume")),
    # help
    ("HELP", Reply("help")),
    ("help", Reply("help")),
    ("Help?", Reply("help")),
    ("INFO", Reply("help")),
    ("?", Reply("help")),
    ("??", Reply("help")),
    # opt-out words, honoured generously
    ("STOP", Reply("stop")),
    ("Stop", Reply("stop")),
    ("STOP ", Reply("stop")),
    ("stop.", Reply("stop")),
    ("STOPALL", Reply("stop")),
    ("unsubscribe", Reply("stop")),
    ("Cancel", Reply("stop")),
    ("END", Reply("stop")),
    ("quit", Reply("stop")),
    ("Revoke", Reply("stop")),
    ("OPTOUT", Reply("stop")),
    ("opt out", Reply("stop")),
    ("stop all", Reply("stop")),
    ("Stop texting me", Reply("stop")),
    ("please stop", Reply("stop")),
    # opt back in
    ("START", Reply("start")),
    ("start", Reply("start")),
    ("UNSTOP", Reply("start")),
    # setting up by text: the words after NEW, PROMISE, INVITE and MOVE n are kept as typed
    ("NEW Evening walk every weekday at 7pm", Reply("new", words="Evening walk every weekday at 7pm")),
    ("new: tea at 5", Reply("new", words="tea at 5")),
    ("Promise Sam call the plumber by 5pm tomorrow", Reply("promise", words="Sam call the plumber by 5pm tomorrow")),
    ("INVITE Sam +14155550123", Reply("invite", words="Sam +14155550123")),
    ("INVITE ... +14155550123", Reply("invite", words="... +14155550123")),  # the name rule refuses that name
    ("Invite: Sam +14155550123", Reply("invite", words="Sam +14155550123")),
    ("MOVE 2 8pm", Reply("move", item=2, words="8pm")),
    ("move #1 saturdays 10am", Reply("move", item=1, words="saturdays 10am")),
    ("DROP 2", Reply("drop", item=2)),
    ("LATER 30", Reply("later", minutes=30)),
    ("later 240", Reply("later", minutes=240)),
    ("LIST", Reply("list")),
    ("list pls", Reply("list")),
    ("FEED", Reply("feed")),
    ("ok", Reply("ok")),
    ("OK!", Reply("ok")),
    ("okay thanks", Reply("ok")),
    ("k", Reply("ok")),
    ("kk", Reply("ok")),
    ("2", Reply("choose", item=2)),
    # Twilio's keywords keep Twilio's meaning, whatever a draft waits for
    ("cancel", Reply("stop")),
    ("END", Reply("stop")),
    ("quit it", Reply("stop")),
    ("info", Reply("help")),
    # a few words kept as the check-in's note (SPEC §4), as typed
    ("DONE loved it", Reply("done", note="loved it")),
    ("Done. Sorry it was short", Reply("done", note="Sorry it was short")),
    ("done 2 loved it", Reply("done", item=2, note="loved it")),
    ("DONE #2: Great chat!", Reply("done", item=2, note="Great chat!")),
    ("d we walked\r\nto the river", Reply("done", note="we walked to the river")),
    ("done " + "a" * 200, Reply("done", note="a" * 157 + "...")),
    # a together ritual someone else checked in for this person
    ("NOT ME", Reply("not_me")),
    ("not me!", Reply("not_me")),
    # anything else is unknown: help reply, nothing recorded
    ("drop", UNKNOWN),
    ("drop 2 3", UNKNOWN),
    ("move", UNKNOWN),
    ("move two 8pm", UNKNOWN),
    ("later", UNKNOWN),
    ("later 0", UNKNOWN),
    ("later 241", UNKNOWN),
    ("later 30 mins", UNKNOWN),
    ("newt", UNKNOWN),
    ("", UNKNOWN),
    ("   ", UNKNOWN),
    ("...", UNKNOWN),
    ("maybe later", UNKNOWN),
    ("thanks", UNKNOWN),
    ("Thank you!", UNKNOWN),
    ("not yet", UNKNOWN),
    ("I'll do it tonight", UNKNOWN),
    ("help me", UNKNOWN),
    ("❤️", UNKNOWN),
    ("😂", UNKNOWN),
    ("👎", UNKNOWN),
    ("🙏", UNKNOWN),
    ("done 😊", UNKNOWN),
    ("done done", UNKNOWN),
    ("👍👍", UNKNOWN),
    ("yes done", UNKNOWN),
    ("done 2 3", UNKNOWN),
    ("done 1 and 2", UNKNOWN),
    ("2 done", UNKNOWN),
    ("done 0", UNKNOWN),
    ("done 21", UNKNOWN),
    ("done 999", UNKNOWN),
    ("done two", UNKNOWN),
    ("done 21 great", UNKNOWN),
    ("done it was both", UNKNOWN),
    ("skip sick", UNKNOWN),
    ("not me 2", UNKNOWN),
    ("skip 2 today tomorrow", UNKNOWN),
    ("yes 2", UNKNOWN),
    ("streak 2", UNKNOWN),
    ("pause 7 months", UNKNOWN),
    ("pause forever", UNKNOWN),
    ("start 5", UNKNOWN),
]


def test_the_table_covers_at_least_sixty_real_replies():
    assert len(REPLIES) >= 60


@pytest.mark.parametrize(("text", "expected"), REPLIES)
def test_it_reads_real_world_replies(text, expected):
    assert parse_reply(text) == expected


@pytest.mark.parametrize("word", sorted(OPT_OUT_WORDS))
def test_it_treats_every_twilio_opt_out_word_as_stop(word):
    assert parse_reply(word) == Reply("stop")
    assert parse_reply(word.lower() + "!") == Reply("stop")


@pytest.mark.parametrize("word", sorted(OPT_IN_WORDS))
def test_it_treats_every_opt_in_word_as_start(word):
    assert parse_reply(word) == Reply("start")


def test_it_accepts_every_item_number_from_1_to_20():
    assert [parse_reply(f"DONE {n}").item for n in range(1, 21)] == list(range(1, 21))
