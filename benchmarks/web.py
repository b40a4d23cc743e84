"""Measures the web chat under load against the bare engine, in the same run.

A `supportbot serve` process on a fresh SQLite file; visitors with open event streams
ask FAQ questions over HTTP. Reported: messages/s through the web path (each visitor
sends, then waits for the answer on its stream) against Engine.handle called directly
with the same keyed events; p50/p99 from the send to the answer's event, at full
load and at half that rate; the server's memory per idle open stream.

    python benchmarks/web.py            # 500 streams
    python benchmarks/web.py --quick    # 100 streams, fewer messages
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from supportbot.app import build_engine
from supportbot.config import Settings
from supportbot.content import load_content
from supportbot.messages import Inbound

ROOT = Path(__file__).resolve().parents[1]
TARGET_SHARE = 0.5  # web throughput / bare engine throughput
TARGET_P99_MS = 100.0
TARGET_STREAM_KB = 50.0


def questions() -> list[str]:
    content = load_content(ROOT)
    return [text for label, text in content.pairs() if label.startswith("faq:")]


def bare_engine_rate(folder: Path, asked: list[str], count: int) -> float:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder}/bare.db",
        content_dir=ROOT,
        files_dir=folder / "files",
    )
    engine = build_engine(settings)
    start = time.perf_counter()
    for n in range(count):
        chat = f"bare-{n % 50}"
        engine.handle(Inbound("web", chat, chat, text=asked[n % len(asked)], key=f"bare-{n}"))
    return count / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_wait_seconds(pid: int) -> float:
    """Time the process's threads spent ready to run but waiting for a CPU (other jobs
    on the machine): what says the machine, not the code, held the process back."""
    waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            waited += int((task / "schedstat").read_text().split()[1])
    return waited / 1e9


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Visitor:
    def __init__(self, token: str) -> None:
        self.auth = {"Authorization": f"Bearer {token}"}
        self.seen = 0
        self.arrived = asyncio.Event()

    async def listen(self, client: httpx.AsyncClient, opened: asyncio.Event) -> None:
        async with client.stream("GET", "/api/events", headers=self.auth, timeout=None) as r:
            opened.set()
            async for line in r.aiter_lines():
                if line.startswith("id: "):
                    self.seen = int(line[4:])
                    self.arrived.set()

    async def ask(self, client: httpx.AsyncClient, text: str, n: int) -> float:
        """Seconds from the send to the first event of the answer."""
        before = self.seen
        self.arrived.clear()
        start = time.perf_counter()
        body = {"client_id": f"bench-{n:08}", "text": text}
        for attempt in range(3):  # a connection dropped under load: the same id again
            try:
                sent = await client.post("/api/messages", headers=self.auth, json=body)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
        sent.raise_for_status()
        while self.seen <= before:
            await self.arrived.wait()
            self.arrived.clear()
        return time.perf_counter() - start


async def web_run(
    base: str, pid: int, streams: int, messages: int, asked: list[str]
) -> dict[str, float]:
    # Streams and sends on two clients: a pool of hundreds of connections makes every
    # request of httpx slow, and the load generator must not be what is measured.
    many = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    few = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    async with (
        httpx.AsyncClient(base_url=base, limits=many, timeout=None) as streaming,
        httpx.AsyncClient(base_url=base, limits=few, timeout=60) as client,
    ):
        tokens = [(await client.post("/api/visitor")).json()["token"] for _ in range(streams)]
        visitors = [Visitor(t) for t in tokens]
        idle_before = rss_kb(pid)
        opened = [asyncio.Event() for _ in visitors]
        listeners = [
            asyncio.create_task(v.listen(streaming, o))
            for v, o in zip(visitors, opened, strict=True)
        ]
        await asyncio.gather(*(o.wait() for o in opened))
        await asyncio.sleep(2)
        per_stream_kb = (rss_kb(pid) - idle_before) / streams
        counter = iter(range(10**9))

        async def closed_loop(visitor: Visitor, count: int, out: list[float]) -> None:
            for _ in range(count):
                n = next(counter)
                out.append(await visitor.ask(client, asked[n % len(asked)], n))

        # Full load: 50 visitors asking at once, one question after the other.
        active = visitors[:50]
        full: list[float] = []
        start = time.perf_counter()
        server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
        server_wait, client_wait = cpu_wait_seconds(pid), cpu_wait_seconds(os.getpid())
        await asyncio.gather(*(closed_loop(v, messages // len(active), full) for v in active))
        elapsed = time.perf_counter() - start
        rate = len(full) / elapsed
        server_share = (cpu_seconds(pid) - server_cpu) / elapsed
        client_share = (time.process_time() - client_cpu) / elapsed
        server_waited = (cpu_wait_seconds(pid) - server_wait) / elapsed
        client_waited = (cpu_wait_seconds(os.getpid()) - client_wait) / elapsed

        # Half that rate, spread over every streaming visitor.
        half: list[float] = []
        paced = []
        gap = 2.0 / rate
        for k in range(min(messages, len(visitors)) // 2 * 2):
            paced.append(asyncio.create_task(closed_loop(visitors[k % len(visitors)], 1, half)))
            await asyncio.sleep(random.expovariate(1 / gap))
        await asyncio.gather(*paced)
        for task in listeners:
            task.cancel()
        return {
            "rate": rate,
            "p50": 1000 * float(np.percentile(full, 50)),
            "p99": 1000 * float(np.percentile(full, 99)),
            "half_p50": 1000 * float(np.percentile(half, 50)),
            "half_p99": 1000 * float(np.percentile(half, 99)),
            "stream_kb": per_stream_kb,
            "server_cpu": server_share,
            "client_cpu": client_share,
            "server_waited": server_waited,
            "client_waited": client_waited,
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    streams, messages = (100, 300) if args.quick else (500, 1500)
    asked = questions()
    folder = Path(tempfile.mkdtemp(prefix="web-bench-"))
    bare = bare_engine_rate(folder, asked, messages)
    port = free_port()
    env = dict(os.environ)
    env.update(
        SUPPORTBOT_DATABASE_URL=f"sqlite:///{folder}/web.db",
        SUPPORTBOT_CONTENT_DIR=str(ROOT),
        SUPPORTBOT_FILES_DIR=str(folder / "files"),
        SUPPORTBOT_WEB_MESSAGES_PER_MINUTE="1000000",
        SUPPORTBOT_WEB_ADDRESS_MESSAGES_PER_MINUTE="1000000",
    )
    command = [sys.executable, "-m", "supportbot.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("supportbot serve did not start") from None
                time.sleep(0.3)
        web = asyncio.run(web_run(base, server.pid, streams, messages, asked))
    finally:
        server.terminate()
        server.wait(30)
    share = web["rate"] / bare
    rate, p50, p99 = web["rate"], web["p50"], web["p99"]
    half50, half99, kb = web["half_p50"], web["half_p99"], web["stream_kb"]
    print(f"web chat, {streams} open streams, SQLite, one server process")
    print(f"  bare engine (keyed events)  {bare:8.1f} msg/s")
    print(f"  web path, 50 senders        {rate:8.1f} msg/s  ({share:.0%} of bare;", end="")
    print(f" target >= {TARGET_SHARE:.0%})")
    print(f"  send -> event at full load  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"  send -> event at half rate  p50 {half50:6.1f} ms  p99 {half99:6.1f} ms", end="")
    print(f"  (target p99 <= {TARGET_P99_MS:.0f} ms)")
    print(f"  CPU at full load            server {web['server_cpu']:.0%} of a core,", end="")
    print(f" load generator {web['client_cpu']:.0%}")
    print(f"  waiting for a CPU (others)  server {web['server_waited']:.0%} of the time,", end="")
    print(f" load generator {web['client_waited']:.0%}")
    print(f"  memory per idle stream      {kb:6.1f} KB  (target <= {TARGET_STREAM_KB:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
