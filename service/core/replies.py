"""The grammar of inbound SMS replies (SPEC §4).

People answer reminders with their thumbs, in a hurry: "Done!", "dONE.",
"👍🏽", "skip today", "d2". The parser forgives case, punctuation, emoji
variants and a few polite filler words, but it never guesses: a reply whose
extra words could change its meaning is `unknown`, and the caller answers
`unknown` with the help text and records nothing. A wrong check-in cannot be
undone by SMS; one more round-trip costs a single segment.

Decisions the spec leaves open:

- Only "command number" names an item ("DONE 2", "done #2", "d2"). "2 done"
  is `unknown`: it can as well mean "two done" (both), so we ask instead.
- One command per reply: "done done", "yes done" and "done 2 3" are `unknown`.
- Items are numbered 1..MAX_ITEM_NUMBER; other numbers make the reply `unknown`.
- "PAUSE" takes days ("PAUSE 7", "pause 7 days", "pause 2 weeks", "pause 7d"),
  any whole number of them: their range is the domain's rule
  (`editing.pause_person`), whose refusal names it, never clamped. Bare "PAUSE"
  has `days=None`; the caller picks the default.
- Opt-out is the exception to "never guess": a reply whose first word is an
  opt-out word ("stop texting me", "cancel please") is `stop`, because carriers
  and the FCC's revocation rule expect any reasonable opt-out to be honoured.
- "YES"/"Y" stay `yes`: whether that means "opt me in", "join the circle" or
  "done" depends on the person's state, which only the caller knows.
- "JOIN" is `join` and "NO" is `no` (an answer to an invitation); the caller
  decides which invitation, if any, they answer.
- Setting up by text (SPEC §4): "NEW ...", "PROMISE ...", "INVITE ..." keep
  the words after the command as typed (`words`: service.core.phrases reads
  them); "MOVE n ...", "DROP n" name a listed item; "LATER n" takes 1..240
  minutes; "LIST", "FEED" stand alone. "OK" alone (or with filler) is `ok`;
  "ok done" is still `done`. A bare number ("2") is `choose`: the answer to a
  question Tend asked ("Which circle? 1 Us 2 Family").
- "DONE <words>" / "DONE 2 <words>" keep the words, as typed, as the check-in's
  note (SPEC §4); words that never change a meaning ("done, thanks") are no
  note. A note longer than 160 characters is cut (an SMS cannot be sent back
  for editing). Only DONE takes words: "SKIP sick" stays `unknown`.
- "NOT ME" is `not_me`: a together ritual someone else checked in for this person.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from service.core.notes import cut_note

Command = Literal[
    "join",
    "no",
    "yes",
    "done",
    "skip",
    "not_me",
    "streak",
    "pause",
    "resume",
    "help",
    "stop",
    "start",
    "new",
    "promise",
    "invite",
    "move",
    "drop",
    "later",
    "list",
    "feed",
    "ok",
    "choose",
    "unknown",
]

MAX_ITEM_NUMBER = 20
MAX_LATER_MINUTES = 240

# Twilio Advanced Opt-Out's default keywords (it also forwards them to us).
OPT_OUT_WORDS: frozenset[str] = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS: frozenset[str] = frozenset({"START", "UNSTOP"})

_COMMAND_WORDS: dict[str, Command] = {
    "join": "join",
    "no": "no",
    "yes": "yes",
    "y": "yes",
    "done": "done",
    "d": "done",
    "✅": "done",
    "👍": "done",
    "✔": "done",
    "✓": "done",
    "☑": "done",
    "skip": "skip",
    "s": "skip",
    "streak": "streak",
    "streaks": "streak",
    "pause": "pause",
    "resume": "resume",
    "unpause": "resume",
    "help": "help",
    "info": "help",
    "list": "list",
    "feed": "feed",
    **{word.casefold(): "start" for word in OPT_IN_WORDS},
}
_OPT_OUT_TOKENS = frozenset(word.casefold() for word in OPT_OUT_WORDS)

# Words that never change what a reply means ("skip today", "all done", "done, thanks").
_FILLER_WORDS = frozenset(
    {
        "ok",
        "okay",
        "all",
        "it",
        "its",
        "now",
        "today",
        "tonight",
        "for",
        "thanks",
        "thank",
        "you",
        "thx",
        "ty",
        "please",
        "pls",
        "plz",
    }
)
_DAYS_PER_UNIT = {"day": 1, "days": 1, "d": 1, "week": 7, "weeks": 7, "wk": 7, "wks": 7}

# A leading minus only at the start of a word, so "pause -3" is negative but "done-2" is item 2.
_TOKEN = re.compile(r"(?<!\w)-\d+|\d+|[^\W\d_]+|[^\w\s]")
# Marks (variation selectors, keycap, accents after NFKD), format characters (ZWJ) and
# modifier symbols (emoji skin tones) only decorate the character before them.
_IGNORED_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Sk"})
_APOSTROPHES = str.maketrans("", "", "'’‘")
# Commands followed by a person's own words, kept as typed.
_WITH_WORDS = re.compile(r"^\W*(new|promise|invite|move|drop|later)\b(\W*)(.*)$", re.IGNORECASE | re.DOTALL)
_ITEM_AND_WORDS = re.compile(r"^#?(\d{1,3})\b\W*(.*)$", re.DOTALL)
_OK_WORDS = frozenset({"ok", "okay", "k", "kk"})


@dataclass(frozen=True)
class Reply:
    """What an inbound SMS asks for; `item` and `days` only where the command takes them."""

    command: Command
    item: int | None = None
    days: int | None = None
    minutes: int | None = None
    words: str = ""
    note: str | None = None  # DONE's words


UNKNOWN = Reply("unknown")


def parse_reply(text: str) -> Reply:
    """Read one inbound SMS body as a command (see the module docstring for the rules)."""
    with_words = _WITH_WORDS.match(text)
    if with_words is not None:
        return _setup(with_words[1].casefold(), with_words[2], with_words[3].strip())
    normalized = _normalize(text)
    tokens = [token for token in _tokenize(normalized) if token not in _FILLER_WORDS]
    if not tokens:
        if _OK_WORDS & set(_tokenize(normalized)):
            return Reply("ok")
        return Reply("help") if "?" in normalized else UNKNOWN
    if set(tokens) <= _OK_WORDS:  # "k", "kk": OK words that are not filler
        return Reply("ok")
    if len(tokens) == 1 and (number := _as_int(tokens[0])) is not None:
        return Reply("choose", item=number) if 1 <= number <= MAX_ITEM_NUMBER else UNKNOWN
    if tokens[0] in _OPT_OUT_TOKENS or tokens[:2] == ["opt", "out"]:
        return Reply("stop")
    if tokens == ["not", "me"]:
        return Reply("not_me")
    command = _COMMAND_WORDS.get(tokens[0])
    arguments = tokens[1:]
    if command is None:
        return UNKNOWN
    if not arguments:
        return Reply(command)
    if command in ("done", "skip") and len(arguments) == 1 and _as_int(arguments[0]) is not None:
        return _with_item(command, arguments[0])
    if command == "done" and (noted := _noted(text)) is not None:
        return noted
    if command == "pause" and len(arguments) <= 2:
        return _pause(arguments)
    return UNKNOWN


def _setup(command: str, lead: str, rest: str) -> Reply:
    """A set-up command and its words; MOVE and DROP name an item, LATER a number of minutes.

    INVITE keeps the punctuation `lead` that follows the command but a separator (`INVITE: Sam`): it may be all
    of a name ("INVITE ... +1415…"), which the name rule, not the grammar, refuses."""
    if command == "invite":
        return Reply("invite", words=(lead + rest).strip().removeprefix(":").strip())
    if command in ("new", "promise"):
        return Reply(command, words=rest)  # type: ignore[arg-type]  # one of the two
    numbered = _ITEM_AND_WORDS.match(rest)
    if numbered is None:
        return UNKNOWN
    number, words = int(numbered[1]), numbered[2].strip()
    if command == "later":
        return Reply("later", minutes=number) if 1 <= number <= MAX_LATER_MINUTES and not words else UNKNOWN
    if not 1 <= number <= MAX_ITEM_NUMBER or (command == "drop" and words):
        return UNKNOWN
    return Reply("move" if command == "move" else "drop", item=number, words=words)


# DONE (or D), an optional item number, then the words, as typed.
_NOTED = re.compile(r"\W*(?:done|d)\b[\s#:,.!-]*(?:(\d+)\b)?[\s:,.!-]*(.*)", re.IGNORECASE | re.DOTALL)


def _noted(text: str) -> Reply | None:
    """DONE with words: the check-in and its note; None when the reply is not of that shape."""
    found = _NOTED.fullmatch(text.strip())
    if found is None or not _are_words(found.group(2)):
        return None
    item = None
    if found.group(1) is not None:
        if (item := _with_item("done", found.group(1)).item) is None:
            return None
    return Reply("done", item=item, note=cut_note(found.group(2)))


# Words that could name items or another command: "done two", "done 1 and 2", "done done" stay `unknown`.
_NUMBER_WORDS = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "both"})


def _are_words(text: str) -> bool:
    """A note: at least one word, and no number or command word that could change what the reply asks."""
    tokens = _tokenize(_normalize(text))
    return any(t.isalpha() for t in tokens) and not any(
        t.isdecimal() or t in _NUMBER_WORDS or t in _COMMAND_WORDS or t in _OPT_OUT_TOKENS for t in tokens
    )


def _normalize(text: str) -> str:
    """Fold case, width and accents, and drop decorations, so "ＤＯＮＥ", "Résumé" and "👍🏽" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) not in _IGNORED_CATEGORIES)


def _tokenize(text: str) -> list[str]:
    """Split into words, numbers and single symbols; punctuation only separates."""
    return [t for t in _TOKEN.findall(text) if not _is_punctuation(t)]


def _is_punctuation(token: str) -> bool:
    return len(token) == 1 and unicodedata.category(token).startswith("P")


def _with_item(command: Command, token: str) -> Reply:
    number = _as_int(token)
    if number is None or not 1 <= number <= MAX_ITEM_NUMBER:
        return UNKNOWN
    return Reply(command, item=number)


def _pause(arguments: list[str]) -> Reply:
    number = _as_int(arguments[0])
    unit = arguments[1] if len(arguments) == 2 else "days"
    if number is None or unit not in _DAYS_PER_UNIT:
        return UNKNOWN
    return Reply("pause", days=number * _DAYS_PER_UNIT[unit])


def _as_int(token: str) -> int | None:
    return int(token) if token.removeprefix("-").isdecimal() else None
