"""Which way to keep many requests to Twilio in flight: threads with pooled sessions, or the SDK's asyncio client.

Sends N messages with the official SDK to the fake Twilio (in its own process)
at a given latency, with at most `--in-flight` requests at once, both ways, in
one process, and reports SMS/s and the CPU seconds spent per 1,000 SMS.

    python -m bench.twilio_clients [--count 2000] [--latency-ms 200] [--in-flight 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.harness import Children

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"


def with_threads(fake_url: str, count: int, in_flight: int) -> None:
    from workers.sms_transport import TwilioTransport

    transport = TwilioTransport(ACCOUNT_SID, AUTH_TOKEN, from_number="+15005550006", api_base_url=fake_url)
    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(lambda i: transport.send(f"+1202555{i % 10_000:04d}", f"Tend: threads {i}"), range(count)))


def with_asyncio(fake_url: str, count: int, in_flight: int) -> None:
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    class Routed(AsyncTwilioHttpClient):
        async def request(self, method, url, *args, **kwargs):
            return await super().request(method, url.replace("https://api.twilio.com", fake_url), *args, **kwargs)

    async def main() -> None:
        http = Routed()
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http)
        slots = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with slots:
                await client.messages.create_async(
                    to=f"+1202555{i % 10_000:04d}", from_="+15005550006", body=f"Tend: asyncio {i}"
                )

        await asyncio.gather(*(one(i) for i in range(count)))
        await http.close()

    asyncio.run(main())


def measure(how, fake_url: str, count: int, in_flight: int) -> tuple[float, float]:
    wall, cpu = time.monotonic(), time.process_time()
    how(fake_url, count, in_flight)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    requests.post(f"{fake_url}/_fake/reset", timeout=30)
    return count / wall, cpu / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--in-flight", type=int, default=100)
    args = parser.parse_args()
    with Children() as children:
        fake = children.start(
            [sys.executable, "-m", "tests.fake_twilio", "--port", "0", "--latency-ms", str(args.latency_ms)],
            os.environ.copy(),
            stdout=subprocess.PIPE,
            text=True,
        )
        fake_url = fake.stdout.readline().strip()
        fake.stdout.close()
        for name, how in (("threads", with_threads), ("asyncio", with_asyncio)):
            measure(how, fake_url, min(200, args.count), args.in_flight)  # warm up
            rate, cpu = measure(how, fake_url, args.count, args.in_flight)
            print(f"{name:>8}: {rate:7.1f} SMS/s, {cpu:5.2f} CPU s per 1,000 SMS", flush=True)


if __name__ == "__main__":
    main()
