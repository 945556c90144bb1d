"""Load benchmark for ``casefile serve``, against a real server process on loopback.

Two scenarios (``--scenario overlap|burst|both``, default both):

overlap
    200 concurrent investigations submitted through ``POST /v1/investigations``,
    driven by a scripted model that waits 1 s per turn (standing in for LLM
    latency), compared with one investigation alone. Target: total wall time
    ≤ 2× the single investigation: the service overlaps the waiting instead of
    serialising it. Run twice: with the demo world's tools (preflight queries
    included) and with no tools (the model's wait alone). Each run also reports
    the server process's CPU time per investigation (from /proc) and the CPU
    floor: that CPU spread over every core, the wall time no schedule can beat.
    With the demo world's tools the floor, not waiting, bounds the run: the
    embedded ClickHouse and the HTTP stand-ins run in the server's process.

burst
    200 tickets announced at once through the signed Zendesk webhook (the
    offline investigator; background priority), the service re-reading each
    from the world's Zendesk stand-in (``ZendeskDesk``) on loopback and posting the internal note back, and one
    on-demand request submitted in the middle of the burst. Reports throughput,
    p50/p95 latency (created → finished), the on-demand request's time to its
    first progress event (target < 1 s), errors (target 0), the server's peak
    RSS, notes posted, and that every investigation is retrievable afterwards.

replicas
    Two service processes on one PostgreSQL store (``--database-url``) share
    a burst of signed webhooks sent to both (half each). Reports wall time,
    throughput, notes posted, tickets with more than one note (target 0),
    investigations started more than once (target 0), and each replica's peak
    RSS and CPU time.

Usage::

    .venv/bin/python benchmarks/serve_load.py [--n 200] [--scenario both] [--json results.json]
    .venv/bin/python benchmarks/serve_load.py --scenario replicas --database-url postgresql://…/db

The server runs in a child process (``serve_process.py``), so its RSS is its own; the Zendesk
stand-in (``casefile.tools.world.zendesk_desk.ZendeskDesk``, the hand-off tests' helpdesk, behind a
``LoopbackServer``) runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from serve_process import ROOT, TOKEN, WEBHOOK_SECRET, Server

from casefile.tools.world.loopback import LoopbackServer
from casefile.tools.world.zendesk_desk import ZendeskDesk

TICKETS = sorted((ROOT / "examples" / "tickets").glob("*.json"))
DEMO_TICKETS = [json.loads(p.read_text()) for p in TICKETS if "zendesk" not in p.name]


def open_desk(ticket_ids: range) -> tuple[ZendeskDesk, LoopbackServer]:
    """The helpdesk the service re-reads announced tickets from and posts its notes to."""
    desk = ZendeskDesk()
    for tid in ticket_ids:
        desk.open_ticket(DEMO_TICKETS[tid % len(DEMO_TICKETS)], ticket_id=tid)
    return desk, LoopbackServer(desk.handle)


def notes_by_ticket(desk: ZendeskDesk, ticket_ids: range) -> dict[int, int]:
    """Tickets with at least one internal note → how many."""
    counts = {tid: len(desk.notes(tid)) for tid in ticket_ids}
    return {tid: n for tid, n in counts.items() if n}


# ------------------------------------------------------------------ client side


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def api_ticket(i: int, tag: str) -> dict[str, Any]:
    base = (
        json.loads(TICKETS[i % len(TICKETS)].read_text())
        if "zendesk" not in TICKETS[i % len(TICKETS)].name
        else json.loads(TICKETS[0].read_text())
    )
    base = dict(base)
    base["id"] = f"{tag}-{i}"
    return base


async def follow(client: Any, url: str, inv: str, t0: float) -> dict[str, float]:
    """Read an investigation's SSE stream; times (s since t0) of the first event and of the end."""
    first = end = float("nan")
    async with client.stream("GET", f"{url}/v1/investigations/{inv}/events", headers=AUTH) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: ") and first != first:
                first = time.perf_counter() - t0
            if line == "event: end":
                end = time.perf_counter() - t0
                break
    return {"first_event_s": first, "end_s": end}


async def submit_and_follow(client: Any, url: str, ticket: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        response = await client.post(f"{url}/v1/investigations", json=ticket, headers=AUTH)
        if response.status_code != 202:
            return {"error": f"HTTP {response.status_code}"}
        inv = response.json()["id"]
        times = await follow(client, url, inv, t0)
    except Exception as exc:
        return {"error": type(exc).__name__}
    return {"id": inv, **times}


async def submit(client: Any, url: str, ticket: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await client.post(f"{url}/v1/investigations", json=ticket, headers=AUTH)
    except Exception as exc:
        return {"error": type(exc).__name__}
    return response.json() if response.status_code == 202 else {"error": f"HTTP {response.status_code}"}


async def drained(client: Any, url: str, poll_s: float = 0.05) -> None:
    """Until nothing is queued or running (one cheap request per poll, not one stream per investigation)."""
    while True:
        health = (await client.get(f"{url}/healthz", headers=AUTH)).json()  # counts need a token
        if health["queued"] == 0 and health["running"] == 0:
            return
        await asyncio.sleep(poll_s)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return round(ordered[k], 3)


async def verify_all(client: Any, url: str, ids: list[str]) -> dict[str, Any]:
    records = await asyncio.gather(*(client.get(f"{url}/v1/investigations/{i}", headers=AUTH) for i in ids))
    done = [r.json() for r in records if r.status_code == 200 and r.json()["status"] == "done"]
    with_diagnosis = [r for r in done if r.get("diagnosis")]
    statuses: dict[str, int] = {}
    for r in records:
        key = (
            r.json().get("status", f"HTTP {r.status_code}")
            if r.status_code == 200
            else f"HTTP {r.status_code}"
        )
        statuses[key] = statuses.get(key, 0) + 1
    latencies = []
    for r in done:
        created = datetime.fromisoformat(r["created_at"])
        finished = datetime.fromisoformat(r["finished_at"])
        latencies.append((finished - created).total_seconds())
    span = float("nan")
    if done:  # first created → last finished, by the server's clock
        first = min(datetime.fromisoformat(r["created_at"]) for r in done)
        last = max(datetime.fromisoformat(r["finished_at"]) for r in done)
        span = round((last - first).total_seconds(), 3)
    return {"retrievable": len(with_diagnosis), "statuses": statuses, "latencies": latencies, "span_s": span}


async def scenario_overlap(n: int, *, no_tools: bool) -> dict[str, Any]:
    import httpx

    server = Server(concurrency=n + 8, zendesk_url="http://127.0.0.1:9", model_latency=1.0, no_tools=no_tools)
    limits = httpx.Limits(max_connections=n * 2 + 20, max_keepalive_connections=n * 2 + 20)
    try:
        async with httpx.AsyncClient(timeout=600, limits=limits) as client:
            await server.wait_ready(client)
            await submit_and_follow(client, server.url, api_ticket(0, "warmup"))
            single = await submit_and_follow(client, server.url, api_ticket(1, "single"))
            cpu0 = server.cpu_s()
            t0 = time.perf_counter()
            results = await asyncio.gather(
                *(submit(client, server.url, api_ticket(i, "load")) for i in range(n))
            )
            submitted = time.perf_counter() - t0
            await drained(client, server.url)
            wall = time.perf_counter() - t0
            cpu = server.cpu_s() - cpu0
            ids = [r["id"] for r in results if "id" in r]
            check = await verify_all(client, server.url, ids)
        errors = sum(1 for r in results if "error" in r) + sum(
            v for k, v in check["statuses"].items() if k != "done"
        )
        return {
            "scenario": "overlap" + (" (no tools)" if no_tools else " (demo world tools)"),
            "investigations": n,
            "single_s": round(single["end_s"], 3),
            "concurrent_wall_s": round(wall, 3),
            "ratio": round(wall / single["end_s"], 2),
            "target_ratio": 2.0,
            "submit_all_s": round(submitted, 3),
            # The server's CPU over the run, per investigation, and the wall time that CPU alone needs
            # on this machine's cores: no schedule can finish sooner.
            "server_cpu_ms_per_investigation": round(cpu / n * 1000, 1),
            "cpu_floor_s": round(cpu / (os.cpu_count() or 1), 3),
            "server_span_s": check["span_s"],
            "p50_s": pct(check["latencies"], 0.5),
            "p95_s": pct(check["latencies"], 0.95),
            "errors": errors,
            "retrievable": check["retrievable"],
            "peak_rss_mb": server.peak_rss_mb(),
        }
    finally:
        server.stop()


async def scenario_burst(n: int, concurrency: int) -> dict[str, Any]:
    import httpx

    from casefile.agent.helpdesk.zendesk import signed_webhook

    ticket_ids = range(100000, 100000 + n)
    desk, zendesk = open_desk(ticket_ids)
    server = Server(concurrency=concurrency, zendesk_url=zendesk.url, model_latency=None, no_tools=False)
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=n + 50)
    try:
        async with httpx.AsyncClient(timeout=600, limits=limits) as client:
            await server.wait_ready(client)
            await submit_and_follow(client, server.url, api_ticket(0, "warmup"))

            async def webhook(i: int) -> dict[str, Any]:
                event = {"type": "zen:event-type:ticket.created", "detail": {"id": str(100000 + i)}}
                body, headers = signed_webhook(WEBHOOK_SECRET, event)
                response = await client.post(
                    f"{server.url}/v1/webhooks/zendesk", content=body, headers=headers
                )
                return (
                    response.json()
                    if response.status_code == 202
                    else {"error": f"HTTP {response.status_code}"}
                )

            t0 = time.perf_counter()
            first_half = [asyncio.create_task(webhook(i)) for i in range(n // 2)]
            await asyncio.sleep(0)  # the first half is on the wire
            on_demand = asyncio.create_task(submit_and_follow(client, server.url, api_ticket(3, "agent")))
            second_half = [asyncio.create_task(webhook(i)) for i in range(n // 2, n)]
            accepted = await asyncio.gather(*first_half, *second_half)
            agent = await on_demand
            ids = [a["id"] for a in accepted if "id" in a]
            await drained(client, server.url)
            wall = time.perf_counter() - t0
            # The notes are posted right after each result is stored.
            deadline = time.monotonic() + 30
            while len(notes_by_ticket(desk, ticket_ids)) < len(ids) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            check = await verify_all(client, server.url, ids)
            listed = (await client.get(f"{server.url}/v1/investigations", headers=AUTH)).json()
        private = all(
            write.ticket["comment"].get("public") is False
            for write in desk.writes
            if "comment" in write.ticket
        )
        noted = notes_by_ticket(desk, ticket_ids)
        errors = (
            sum(1 for a in accepted if "error" in a)
            + sum(v for k, v in check["statuses"].items() if k != "done")
            + (1 if "error" in agent else 0)
        )
        return {
            "scenario": "burst (webhook, offline investigator)",
            "investigations": n,
            "concurrency": concurrency,
            "wall_s": round(wall, 3),
            "throughput_per_s": round(len(ids) / wall, 2),
            "server_span_s": check["span_s"],
            "p50_s": pct(check["latencies"], 0.5),
            "p95_s": pct(check["latencies"], 0.95),
            "on_demand_first_event_s": round(agent.get("first_event_s", float("nan")), 3),
            "on_demand_done_s": round(agent.get("end_s", float("nan")), 3),
            "target_first_event_s": 1.0,
            "errors": errors,
            "statuses": check["statuses"],
            "retrievable": check["retrievable"],
            "listed": len(listed),
            "notes_posted": len(noted),
            "notes_private": private,
            "peak_rss_mb": server.peak_rss_mb(),
        }
    finally:
        server.stop()
        zendesk.close()


async def scenario_replicas(n: int, concurrency: int, database_url: str) -> dict[str, Any]:
    """Two replicas on one PostgreSQL store, a webhook burst split between them."""
    import httpx

    from casefile.agent.helpdesk.zendesk import signed_webhook
    from casefile.agent.store import Store

    ticket_ids = range(200000, 200000 + n)
    desk, zendesk = open_desk(ticket_ids)
    servers = [
        Server(
            concurrency=concurrency,
            zendesk_url=zendesk.url,
            model_latency=None,
            no_tools=False,
            database_url=database_url,
        )
        for _ in range(2)
    ]
    limits = httpx.Limits(max_connections=n + 50, max_keepalive_connections=n + 50)
    try:
        async with httpx.AsyncClient(timeout=600, limits=limits) as client:
            for server in servers:
                await server.wait_ready(client)

            async def webhook(i: int) -> int:
                event = {"type": "zen:event-type:ticket.created", "detail": {"id": str(200000 + i)}}
                body, headers = signed_webhook(WEBHOOK_SECRET, event)
                url = servers[i % 2].url
                response = await client.post(f"{url}/v1/webhooks/zendesk", content=body, headers=headers)
                return response.status_code

            t0 = time.perf_counter()
            codes = await asyncio.gather(*(webhook(i) for i in range(n)))
            deadline = time.monotonic() + 600
            while len(notes_by_ticket(desk, ticket_ids)) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for server in servers:
                await drained(client, server.url)
            wall = time.perf_counter() - t0
        store = Store(database_url)
        records = store.list()
        started = {
            r.id: sum(1 for _, e in store.events(r.id) if e.kind == "investigation_started") for r in records
        }
        store.close()
        noted = notes_by_ticket(desk, ticket_ids)
        return {
            "scenario": "two replicas, one PostgreSQL (webhook burst, offline investigator)",
            "webhooks": n,
            "accepted": sum(1 for c in codes if c == 202),
            "concurrency_per_replica": concurrency,
            "wall_s": round(wall, 3),
            "throughput_per_s": round(n / wall, 2),
            "investigations": len(records),
            "done": sum(1 for r in records if r.status == "done"),
            "notes_posted": sum(noted.values()),
            "tickets_with_duplicate_notes": sum(1 for count in noted.values() if count > 1),
            "investigations_started_twice": sum(1 for c in started.values() if c > 1),
            "peak_rss_mb": [server.peak_rss_mb() for server in servers],
            "cpu_s": [round(server.cpu_s(), 2) for server in servers],
        }
    finally:
        for server in servers:
            server.stop()
        zendesk.close()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    if args.scenario in ("overlap", "both"):
        results.append(await scenario_overlap(args.n, no_tools=True))
        print(json.dumps(results[-1]), flush=True)
        results.append(await scenario_overlap(args.n, no_tools=False))
        print(json.dumps(results[-1]), flush=True)
    if args.scenario in ("burst", "both"):
        results.append(await scenario_burst(args.n, args.concurrency))
        print(json.dumps(results[-1]), flush=True)
    if args.scenario == "replicas":
        if not (args.database_url or "").startswith("postgresql"):
            raise SystemExit("serve_load: --scenario replicas needs --database-url postgresql://…")
        results.append(await scenario_replicas(args.n, args.concurrency, args.database_url))
        print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200, help="investigations per scenario")
    parser.add_argument("--scenario", choices=["overlap", "burst", "both", "replicas"], default="both")
    parser.add_argument("--database-url", help="the replicas scenario's PostgreSQL store")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="service concurrency for the burst scenario"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    results = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
