"""Setting up by text: a signed NEW round trip (read the words, keep a draft, echo it in TwiML) beside a signed DONE.

    python -m bench.setup [--people 2000]

The issue's goal: POST /webhooks/twilio/sms with `NEW evening walk every
weekday at 7pm` runs at ≥ 0.5× the requests/s of the same webhook with `DONE`
(a check-in on an open reminder), one gunicorn app in the same run, the same
keep-alive clients, best of alternating rounds. Both rounds are checked for
their effect (every sender's draft kept; every sender's check-in recorded), so
neither figure measures an error path. Results go to bench/results/setup.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from bench.checkins import GUNICORN, ROUNDS, closed_loop, environment, reopen, seed, signed_batch, verified
from bench.harness import Children, save, serve, temporary_database
from service.domain.db import Database
from service.domain.models import TextedSetup

PEOPLE = 2_000
REQUESTS = 2_000
WARM_UP = 200
NEW = "NEW evening walk every weekday at 7pm"
GOAL_RATIO = 0.5


def drafts(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(TextedSetup).where(TextedSetup.draft.is_not(None)))


def forget_drafts(db: Database) -> None:
    with db.session() as session:
        session.execute(delete(TextedSetup))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=PEOPLE)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with temporary_database() as url, Children() as children:
        db = Database(url)
        phones = seed(db, args.people, now)
        port = serve(children, "service.entry.wsgi:create_app()", "/healthz", environment(url))
        for bodies in (("DONE",), (NEW,)):
            closed_loop(port, signed_batch(phones, WARM_UP, bodies), seconds=2.0)
        best = {"done": 0.0, "new": 0.0}
        for _ in range(ROUNDS):
            reopen(db)
            best["done"] = max(
                best["done"], verified(db, closed_loop(port, signed_batch(phones, REQUESTS, ("DONE",)))).rps
            )
            forget_drafts(db)
            run = closed_loop(port, signed_batch(phones, REQUESTS, (NEW,)))
            if drafts(db) != len({sms.sender for sms in run.sent}):
                raise RuntimeError(f"{drafts(db)} drafts kept for {len(run.sent)} NEW texts: not measuring NEW")
            best["new"] = max(best["new"], run.rps)
        db.dispose()
    ratio = best["new"] / best["done"]
    result = {
        "gunicorn": " ".join(GUNICORN),
        "people": len(phones),
        "new_body": NEW,
        "done_rps": round(best["done"]),
        "new_rps": round(best["new"]),
        "ratio": round(ratio, 2),
        "goal_ratio": GOAL_RATIO,
        "ratio_goal_met": ratio >= GOAL_RATIO,
        "cpus": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"{'POST sms, DONE (check-in)':<36}{best['done']:>9.0f} req/s")
    print(
        f"{'POST sms, NEW (parse, draft, echo)':<36}{best['new']:>9.0f} req/s   ratio {ratio:.2f} "
        f"(goal ≥ {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'MISSED'})"
    )
    print(f"saved {save('setup', result)}")
    return 0 if result["ratio_goal_met"] else 1


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"took {time.perf_counter() - started:.0f} s")
    sys.exit(code)
