"""Chat latency with 1,000 open WebSockets on channels-redis (the compose-like set-up).

Starts the portal under Daphne (PostgreSQL, Redis sessions and channel layer) and a real Rasa
server, seeds conversations, opens N subscriber sockets (one per conversation, all kept open) and
agent sockets on the conversations agents own, then measures:

- subscriber message → the owning agent's screen (agent socket receives the fragment),
- subscriber message → the bot's reply on the subscriber's screen (Rasa greeting),
- a plain Channels echo through the same channel layer (reference), in the same run,
- Rasa alone: the same first "hola" of a new conversation posted straight to Rasa's REST channel
  with signed metadata (what the bridge adds on top of the bot is the difference).

    ENLACE_TEST_TAG=… ENLACE_TEST_REDIS=… .venv/bin/python tests/benchmarks/bench_chat.py [--sockets 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.devstack import drop_databases  # noqa: E402
from tests.fixtures.isolation import pg_prefix, redis_url  # noqa: E402
from tests.fixtures.polling import free_port  # noqa: E402
from tests.fixtures.rasa import rasa_bot  # noqa: E402

PREFIX = pg_prefix("enlace_benchchat_")
KEY = "bench-chat-key"


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def env_for(var: str, rasa_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ENLACE_DB_ENGINE": "postgres",
        "ENLACE_PG_DB_PREFIX": PREFIX,
        "ENLACE_REDIS_URL": redis_url(7),
        "ENLACE_VAR_DIR": var,
        "ENLACE_DEBUG": "false",
        "ENLACE_PORTAL_EMBEDDED_CONSUMER": "false",
        "ENLACE_RASA_URL": rasa_url,
        "ENLACE_CHATBOT_METADATA_KEY": KEY,
        "ENLACE_LOG_LEVEL": "WARNING",
    }


def seed(n_sockets: int, n_agent: int) -> tuple[list[tuple[int, str]], dict[int, str], str]:
    """(conversation id, subscriber session key) per socket; agent session per owned conversation."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.utils import timezone

    from portal.accounts import SESSION_USER
    from portal.chat import services

    store_class = import_module(settings.SESSION_ENGINE).SessionStore

    def session(user: dict[str, object]) -> str:
        store = store_class()
        store[SESSION_USER] = user
        store.save()
        return str(store.session_key)

    agent = {"id": 9000, "email": "agent@bench", "full_name": "Agente", "roles": ["agent"], "client_id": None}
    agent_key = session(agent)
    subscribers, agents = [], {}
    for i in range(n_sockets):
        user = {
            "id": 10_000 + i,
            "email": f"s{i}@bench",
            "full_name": f"S {i}",
            "roles": ["subscriber"],
            "client_id": 10_000 + i,
            "language": "es",
        }
        conversation = services.conversation_open(
            user_id=user["id"],
            client_id=user["client_id"],
            name=user["full_name"],
            email=user["email"],
            language="es",
            now=timezone.now(),
        )
        if i < n_agent:
            services.conversation_take_over(
                conversation_id=conversation.pk, agent_id=9000, agent_name="Agente", now=timezone.now()
            )
            agents[conversation.pk] = agent_key
        subscribers.append((conversation.pk, session(user)))
    return subscribers, agents, agent_key


async def run(
    port: int, subscribers: list[tuple[int, str]], agents: dict[int, str], samples: int, rasa_url: str
) -> dict[str, list[float]]:
    import httpx
    import websockets

    from chatbot.metadata import sign

    base = f"ws://127.0.0.1:{port}"

    async def connect(path: str, key: str | None = None):  # type: ignore[no-untyped-def]
        headers = {"Origin": f"http://127.0.0.1:{port}"}
        if key:
            headers["Cookie"] = f"enlace_portal_session={key}; enlace_language=es"
        return await websockets.connect(base + path, additional_headers=headers, max_queue=None)

    async def drain(ws) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 0.05)
        except TimeoutError:
            pass

    sub_sockets = {}
    for i in range(0, len(subscribers), 20):
        # Small bursts: Daphne's listen backlog (50) drops larger bursts of handshakes.
        batch = subscribers[i : i + 20]
        opened = await asyncio.gather(*(connect(f"/ws/chat/{cid}/", key) for cid, key in batch))
        for (cid, _), ws in zip(batch, opened, strict=True):
            await ws.send(json.dumps({"type": "sync", "after": 0}))
            sub_sockets[cid] = ws
    agent_sockets = {}
    for cid, key in agents.items():
        ws = await connect(f"/ws/agent/chat/{cid}/", key)
        await ws.send(json.dumps({"type": "sync", "after": 0}))
        agent_sockets[cid] = ws
    await asyncio.sleep(1)
    for ws in [*sub_sockets.values(), *agent_sockets.values()]:
        await drain(ws)
    print(f"open sockets: {len(sub_sockets) + len(agent_sockets)}", flush=True)

    async def wait_for(ws, needle: str) -> None:  # type: ignore[no-untyped-def]
        while needle not in await ws.recv():
            pass

    results: dict[str, list[float]] = {"agent": [], "bot": [], "echo": [], "rasa": []}
    owned = list(agent_sockets)
    for i in range(samples):
        cid = owned[i % len(owned)]
        text = f"m-{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        await sub_sockets[cid].send(json.dumps({"type": "message", "text": text, "client_msg_id": text}))
        await asyncio.wait_for(wait_for(agent_sockets[cid], text), 10)
        results["agent"].append((time.perf_counter() - start) * 1000)
        await drain(sub_sockets[cid])
    bot_conversations = [cid for cid in sub_sockets if cid not in agent_sockets]
    for i in range(samples):
        ws = sub_sockets[bot_conversations[i % len(bot_conversations)]]
        text = "hola"
        start = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": uuid.uuid4().hex}))
        await asyncio.wait_for(wait_for(ws, 'data-sender="bot"'), 30)
        results["bot"].append((time.perf_counter() - start) * 1000)
    echo = await connect("/ws/echo/")
    for i in range(samples):
        start = time.perf_counter()
        await echo.send(f"e-{i}")
        await echo.recv()
        results["echo"].append((time.perf_counter() - start) * 1000)
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(samples):
            sender = f"direct-{uuid.uuid4().hex[:12]}"
            claims = {"client_id": 1, "user_id": 1, "language": "es", "conversation_id": sender}
            body = {"sender": sender, "message": "hola", "metadata": sign(claims, KEY)}
            start = time.perf_counter()
            answer = await http.post(f"{rasa_url}/webhooks/rest/webhook", json=body)
            results["rasa"].append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200 and answer.json(), answer.text
    for ws in [*sub_sockets.values(), *agent_sockets.values(), echo]:
        await ws.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--agent-conversations", type=int, default=50)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="enlace-bench-chat-")
    drop_databases(PREFIX)
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{PREFIX}portal"')
    conn.close()
    import redis

    redis.Redis.from_url(redis_url(7)).flushdb()
    with rasa_bot(Path(var), {"ENLACE_CHATBOT_METADATA_KEY": KEY}) as bot:
        env = env_for(var, bot.url)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("ENLACE_", "DJANGO_"))})
        subprocess.run([sys.executable, "-m", "portal", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subscribers, agents, _ = seed(args.sockets, args.agent_conversations)
        port = free_port()
        daphne = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "tests.benchmarks.chat_echo_asgi:application",
            ],
            env=env,
            cwd=ROOT,
            stdout=open(Path(var) / "daphne.log", "wb"),  # noqa: SIM115 (open as long as the server)
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            results = asyncio.run(run(port, subscribers, agents, args.samples, bot.url))
        finally:
            daphne.terminate()
            daphne.wait(timeout=20)
    load = os.getloadavg()
    echo = p95(results["echo"])
    print(
        f"sockets open: {args.sockets + args.agent_conversations}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for name, label in (
        ("agent", "subscriber → agent screen"),
        ("bot", "subscriber → bot reply"),
        ("echo", "plain Channels echo"),
        ("rasa", "Rasa alone (REST, first msg)"),
    ):
        samples = results[name]
        print(
            f"{label:28s} p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms  "
            f"(p95 / echo p95 = {p95(samples) / echo:5.1f})"
        )


if __name__ == "__main__":
    main()
