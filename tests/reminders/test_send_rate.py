"""TEND_SMS_MPS and TEND_TWILIO_CONCURRENCY are budgets shared by every worker, kept in Redis."""

import ctypes
import threading
import time

import pytest

from service.config import limits_uri
from workers.in_flight import SharedInFlight
from workers.send_rate import SendRate


def granted(rate: SendRate, tries: int) -> int:
    return sum(rate.try_take() for _ in range(tries))


def test_two_workers_share_one_budget_through_redis(redis_url):
    # 0.5 per second: one send per 2-second window, which the first worker's send opens
    first, second = (SharedInFlight(100, SendRate(0.5), redis_url) for _ in range(2))
    started = time.monotonic()
    with first.slot(1):
        pass
    with second.slot(1):
        assert time.monotonic() - started >= 1.9  # the window's one send was the first worker's


def test_a_message_of_more_segments_than_a_window_holds_waits_for_the_next(redis_url):
    sending = SharedInFlight(100, SendRate(1), redis_url)
    started = time.monotonic()
    with sending.slot(2):
        assert time.monotonic() - started >= 0.9


def test_two_workers_share_the_requests_in_flight_through_redis(redis_url):
    first, second = (SharedInFlight(1, SendRate(1000), redis_url) for _ in range(2))
    order = []

    def send_from_second() -> None:
        with second.slot(1):
            order.append("second")

    with first.slot(1):
        waiting = threading.Thread(target=send_from_second)
        waiting.start()
        waiting.join(0.3)
        order.append("first done")
    waiting.join(5)
    assert order == ["first done", "second"]


def test_many_threads_of_one_worker_asking_at_once_never_hold_more_than_the_limit(redis_url):
    sending = SharedInFlight(5, SendRate(1000), redis_url)
    inside, most, served = 0, 0, []
    lock = threading.Lock()

    def send(i: int) -> None:
        nonlocal inside, most
        with sending.slot(1):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1
                served.append(i)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(served) == list(range(60))
    assert most == 5  # every slot in use, none beyond


def test_threads_waiting_for_a_slot_when_redis_is_away_fail_instead_of_hanging():
    sending = SharedInFlight(2, SendRate(1000), "redis://127.0.0.1:1/0")  # nothing listens there
    failures = []

    def send() -> None:
        try:
            with sending.slot(1):
                pass
        except Exception as exc:
            failures.append(type(exc).__name__)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == ["ConnectionError"] * 10


class Interrupted(BaseException):
    """What Dramatiq's time limit and shutdown raise into a worker thread, wherever it is."""


def test_a_thread_interrupted_while_it_asks_for_the_others_hands_the_asking_on(redis_url):
    sending = SharedInFlight(1, SendRate(1000), redis_url)
    outcomes: dict[str, str] = {}

    def wait_for_a_slot(name: str) -> None:
        try:
            with sending.slot(1):
                outcomes[name] = "sent"
        except Interrupted:
            outcomes[name] = "interrupted"

    with sending.slot(1):  # the one slot: the next thread asks Redis again and again, the one after queues
        first = threading.Thread(target=wait_for_a_slot, args=("first",))
        first.start()
        time.sleep(0.1)
        second = threading.Thread(target=wait_for_a_slot, args=("second",))
        second.start()
        time.sleep(0.1)
        assert first.ident is not None
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(first.ident), ctypes.py_object(Interrupted))
        first.join(5)
    second.join(10)
    assert outcomes == {"first": "interrupted", "second": "sent"}


def test_without_redis_the_budget_is_the_process_own():
    first, second = SendRate(0.05), SendRate(0.05)
    assert (granted(first, 3), granted(second, 3)) == (1, 1)


@pytest.mark.parametrize("mps, amount, seconds", [(1000, 1000, 1), (1, 1, 1), (2.4, 2, 1), (0.5, 1, 2), (0.05, 1, 20)])
def test_the_budget_scales_with_the_setting(mps, amount, seconds):
    window = SendRate(mps).window
    assert (window.amount, window.get_expiry()) == (amount, seconds)


def test_wait_holds_a_send_until_the_spent_window_resets():
    rate = SendRate(1)
    rate.wait()
    reset_at = rate.limiter.get_window_stats(rate.window, SendRate.KEY).reset_time
    rate.wait()  # the window's one send is spent
    assert time.time() >= reset_at


def test_redis_urls_map_to_the_limits_library_names():
    assert limits_uri(None) == "memory://"
    assert limits_uri("redis://h:6379/1") == "redis://h:6379/1"
    assert limits_uri("unix:///run/redis.sock") == "redis+unix:///run/redis.sock"


class AsksOneCallAtATime(SharedInFlight):
    """Holds the first two Redis calls until the test lets them go (the test's own edge: when Redis answers)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.entered = [threading.Event(), threading.Event()]
        self.go_on = [threading.Event(), threading.Event()]
        self.calls = 0

    def _ask(self, asks):
        call, self.calls = self.calls, self.calls + 1
        if call < 2:
            self.entered[call].set()
            self.go_on[call].wait(5)
        return super()._ask(asks)


def test_a_thread_that_leaves_while_redis_answers_for_it_leaves_no_other_waiting(redis_url):
    sending = AsksOneCallAtATime(3, SendRate(1000), redis_url)
    outcomes: dict[str, str] = {}

    def wait_for_a_slot(name: str) -> None:
        try:
            with sending.slot(1):
                outcomes[name] = "sent"
        except BaseException as exc:
            outcomes[name] = type(exc).__name__

    threads = {name: threading.Thread(target=wait_for_a_slot, args=(name,), daemon=True) for name in "LWXA"}
    threads["L"].start()
    assert sending.entered[0].wait(5)  # L asks for itself; W, X and A queue behind it
    for name in "WXA":
        threads[name].start()
        time.sleep(0.1)
    sending.go_on[0].set()  # L is served and hands the asking to W, which asks for W, X and A at once
    assert sending.entered[1].wait(5)
    leaving = sending._asks[1]
    sending._withdraw(leaving)  # X's thread is interrupted while Redis answers for it
    sending.go_on[1].set()
    for name in "LWA":
        threads[name].join(5)
    assert outcomes == {"L": "sent", "W": "sent", "A": "sent"}
    leaving.error = Interrupted()  # X's thread, which in a worker had already left, is let go
    leaving.answered.set()
    threads["X"].join(5)
