"""The model gateway's own cost, next to LiteLLM's Router, against the same fake provider.

    python bench/gateway.py [--calls 2000] [--rounds 5] [--memory-calls 100000] [--json] [--smoke]

LiteLLM is a benchmark-only extra (`pip install -e '.[bench]'`, best in a virtualenv of its own:
it pins other versions of some packages). Without it the LiteLLM columns are skipped.

The fake provider (tests/support/fake_providers.py, OpenAI wire format, answering at once)
runs as its own process; this process is the client. Three ways to make the same call:

  raw      one httpx POST and a JSON parse: the floor every gateway sits on
  ours     ModelChain → ManagedModel (limits, breaker, retries, deadline, pricing, metrics)
  litellm  litellm.Router.acompletion with the same model behind it

"Added latency" is a gateway's latency minus raw's, measured in interleaved rounds so the
machine's noise hits all three alike; the ratio ours/LiteLLM is what to read.
Failover: the primary is down (connection refused); the extra time to answer from the
backup on the first call, and once the breaker is open. Memory: RSS after 10k and after
`--memory-calls` calls through our chain, in a process of its own.

Every call must be answered (a failed call fails the run, as does a failover that did not go
to the backup). `--smoke` makes a few hundred calls, to show in seconds that it still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch of LiteLLM's price map

import httpx  # noqa: E402
import structlog  # noqa: E402

from agent.models import ChatMessage, ChatRequest, ManagedModel, ModelChain  # noqa: E402
from agent.models.breaker import CircuitBreaker  # noqa: E402
from agent.models.cost import PriceKey, Pricer  # noqa: E402
from agent.models.managed import Deployment, RetryPolicy  # noqa: E402
from agent.models.metrics import GatewayMetrics  # noqa: E402
from agent.models.providers import ClientPool, ModelSpec, Timeouts, http_registry  # noqa: E402
from bench.support.harness import Broken, expect, free_port  # noqa: E402

Call = Callable[[], Awaitable[Any]]
MESSAGES = [{"role": "system", "content": "You are Sam, of Northwind Outfitters."}, {"role": "user", "content": "what is your return policy"}]
REQUEST = ChatRequest([ChatMessage(m["role"], m["content"]) for m in MESSAGES], route="support")


def serve(port: int) -> None:
    """The fake provider server, alone in this process."""
    from aiohttp import web

    from tests.support.fake_providers import FakeProviders, build_app

    web.run_app(build_app(FakeProviders(record=False)), host="127.0.0.1", port=port, access_log=None, print=None)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise Broken("the fake provider did not start")


def quiet_logs() -> None:
    import logging

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


# -- the three callers -------------------------------------------------------------------


def ours(base_url: str, pool: ClientPool, model: str = "ok", primary: str | None = None) -> tuple[ModelChain, list[ManagedModel]]:
    registry, pricer, metrics = http_registry(pool), Pricer(), GatewayMetrics()

    def managed(name: str, url: str, model_id: str) -> ManagedModel:
        spec = ModelSpec(name, "openai", model_id, base_url=url, api_key="sk-bench", timeouts=Timeouts(total_s=10))
        deployment = Deployment(registry.build(spec), url, breaker=CircuitBreaker(5, 30, 30), price_key=PriceKey("gpt-4o-mini", "openai"))
        return ManagedModel(name, [deployment], RetryPolicy(retries=0), pricer, None, metrics)

    models = [managed("backup", f"{base_url}/openai/v1", model)]
    if primary is not None:
        models.insert(0, managed("primary", primary, model))
    return ModelChain(models), models


def litellm_router(base_url: str, primary: str | None = None) -> Any:
    import litellm
    from litellm import Router

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    model_list = [{"model_name": "backup", "litellm_params": {"model": "openai/ok", "api_base": f"{base_url}/openai/v1", "api_key": "sk-bench"}}]
    fallbacks = None
    if primary is not None:
        model_list.append({"model_name": "primary", "litellm_params": {"model": "openai/ok", "api_base": primary, "api_key": "sk-bench"}})
        fallbacks = [{"primary": ["backup"]}]
    return Router(model_list=model_list, fallbacks=fallbacks, num_retries=0, allowed_fails=4, cooldown_time=30)


def have_litellm() -> bool:
    try:
        import litellm  # noqa: F401
    except ImportError:
        return False
    return True


# -- measuring ---------------------------------------------------------------------------


async def latencies(call: Call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def throughput(call: Call, n: int, concurrency: int) -> float:
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def overhead(base_url: str, calls: int, rounds: int, concurrency: int, with_litellm: bool, warmup: int) -> dict[str, Any]:
    pool = ClientPool()
    chain, _ = ours(base_url, pool)
    raw_client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    url = f"{base_url}/openai/v1/chat/completions"
    body = {"model": "ok", "messages": MESSAGES, "max_tokens": 512, "temperature": 0.3}

    async def raw() -> None:
        response = await raw_client.post(url, json=body, headers={"Authorization": "Bearer sk-bench"})
        expect(response.status_code == 200, f"raw: the fake provider answered {response.status_code}: {response.text}")
        expect(bool(response.json()["choices"][0]["message"]["content"]), "raw: an empty answer")

    async def our_call() -> None:
        outcome = await chain.run(REQUEST)
        expect(outcome.result is not None and bool(outcome.result.text), f"ours: no answer: {outcome.attempts}")

    callers: dict[str, Call] = {"raw": raw, "ours": our_call}
    if with_litellm:
        router = litellm_router(base_url)

        async def litellm_call() -> None:
            response = await router.acompletion(model="backup", messages=MESSAGES, max_tokens=512, temperature=0.3)
            expect(bool(response.choices[0].message.content), "litellm: an empty answer")

        callers["litellm"] = litellm_call

    for call in callers.values():  # warm-up: connections, imports, caches
        await latencies(call, warmup)
    samples: dict[str, list[float]] = {name: [] for name in callers}
    rates: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(rounds):
        for name, call in callers.items():
            samples[name] += await latencies(call, calls // rounds)
        for name, call in callers.items():
            rates[name].append(await throughput(call, calls // rounds, concurrency))
    await raw_client.aclose()
    await pool.aclose()

    out: dict[str, Any] = {}
    for name in callers:
        out[name] = {
            "p50_ms": round(statistics.median(samples[name]), 3),
            "p99_ms": round(pct(samples[name], 0.99), 3),
            "calls_per_s": round(statistics.median(rates[name]), 1),
        }
    for name in callers:
        if name != "raw":
            out[name]["added_p50_ms"] = round(out[name]["p50_ms"] - out["raw"]["p50_ms"], 3)
            out[name]["added_p99_ms"] = round(out[name]["p99_ms"] - out["raw"]["p99_ms"], 3)
    if with_litellm:
        out["ratio_added_p50"] = round(out["ours"]["added_p50_ms"] / out["litellm"]["added_p50_ms"], 3)
        out["ratio_added_p99"] = round(out["ours"]["added_p99_ms"] / out["litellm"]["added_p99_ms"], 3)
        out["ratio_calls_per_s"] = round(out["ours"]["calls_per_s"] / out["litellm"]["calls_per_s"], 2)
    return out


async def failover(base_url: str, with_litellm: bool, samples: int = 300, warmup: int = 100) -> dict[str, Any]:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: connection refused
    pool = ClientPool()
    backup_chain, _ = ours(base_url, pool)
    for _ in range(warmup):
        await backup_chain.run(REQUEST)
    backup = statistics.median(await latencies(lambda: backup_chain.run(REQUEST), samples))

    chain, models = ours(base_url, pool, primary=down)
    started = time.perf_counter()
    first = await chain.run(REQUEST)
    first_ms = (time.perf_counter() - started) * 1000
    outcomes = [a.outcome.value for a in first.attempts]
    expect(first.result is not None and outcomes == ["connection_error", "ok"], f"failover: the first call went {outcomes}")
    for _ in range(100):
        if models[0].deployments[0].breaker.state.value == "open":
            break
        expect((await chain.run(REQUEST)).result is not None, "failover: a call the backup did not answer")
    expect(models[0].deployments[0].breaker.state.value == "open", "failover: the primary's breaker never opened")
    opened = statistics.median(await latencies(lambda: chain.run(REQUEST), samples))
    await pool.aclose()
    out: dict[str, Any] = {
        "ours": {
            "backup_alone_p50_ms": round(backup, 3),
            "first_call_extra_ms": round(first_ms - backup, 3),
            "breaker_open_extra_ms": round(opened - backup, 3),
        }
    }
    if with_litellm:
        router = litellm_router(base_url)
        call = lambda: router.acompletion(model="backup", messages=MESSAGES)  # noqa: E731
        await latencies(call, warmup)
        backup = statistics.median(await latencies(call, samples))
        router = litellm_router(base_url, primary=down)
        call = lambda: router.acompletion(model="primary", messages=MESSAGES)  # noqa: E731
        started = time.perf_counter()
        await call()
        first_ms = (time.perf_counter() - started) * 1000
        await latencies(call, 20)  # past allowed_fails: the primary is cooling down
        steady = statistics.median(await latencies(call, samples))
        out["litellm"] = {
            "backup_alone_p50_ms": round(backup, 3),
            "first_call_extra_ms": round(first_ms - backup, 3),
            "cooled_down_extra_ms": round(steady - backup, 3),
        }
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def memory(base_url: str, total: int, concurrency: int = 16) -> dict[str, float]:
    """RSS after 10k calls (or half of `total`, if fewer) and after `total`, through our chain
    (fresh process)."""
    pool = ClientPool()
    chain, _ = ours(base_url, pool)
    failed = 0

    async def call() -> None:
        nonlocal failed
        failed += (await chain.run(REQUEST)).result is None

    checkpoint = min(10_000, total // 2)
    await throughput(call, checkpoint, concurrency)
    gc.collect()
    at_checkpoint = rss_mb()
    await throughput(call, total - checkpoint, concurrency)
    gc.collect()
    at_total = rss_mb()
    await pool.aclose()
    return {"calls": total, "failed": failed, "checkpoint": checkpoint, "rss_mb_at_checkpoint": round(at_checkpoint, 1),
            "rss_mb_at_end": round(at_total, 1), "growth_mb": round(at_total - at_checkpoint, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per caller for latency, and again for throughput")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--memory-calls", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few hundred calls: does it still run?")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-against", help=argparse.SUPPRESS)
    args = parser.parse_args()
    warmup, samples = 200, 300
    if args.smoke:
        args.calls, args.rounds, args.concurrency, args.memory_calls, warmup, samples = 100, 2, 4, 400, 20, 20
    if args.serve:
        serve(args.serve)
        return
    quiet_logs()
    if args.memory_against:
        print(json.dumps(asyncio.run(memory(args.memory_against, args.memory_calls))))
        return

    try:
        results, with_litellm = measure(args.calls, args.rounds, args.concurrency, args.memory_calls, warmup, samples)
    except Broken as exc:
        sys.exit(f"gateway.py: FAILED: {exc}")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    report(results, with_litellm)


def measure(calls: int, rounds: int, concurrency: int, memory_calls: int, warmup: int, samples: int) -> tuple[dict[str, Any], bool]:
    server, base_url = start_server()
    try:
        with_litellm = have_litellm()
        results: dict[str, Any] = {"overhead": asyncio.run(overhead(base_url, calls, rounds, concurrency, with_litellm, warmup))}
        results["failover"] = asyncio.run(failover(base_url, with_litellm, samples, warmup))
        if memory_calls:
            run = subprocess.run(
                [sys.executable, __file__, "--memory-against", base_url, "--memory-calls", str(memory_calls)],
                capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            expect(run.returncode == 0, f"the memory run exited with {run.returncode}: {run.stderr[-2000:]}")
            results["memory"] = json.loads(run.stdout.strip().splitlines()[-1])
            expect(results["memory"]["failed"] == 0, f"memory: {results['memory']['failed']} calls not answered")
    finally:
        server.terminate()
        server.wait()
    return results, with_litellm


def report(results: dict[str, Any], with_litellm: bool) -> None:
    o = results["overhead"]
    print("Overhead per call (sequential latency; throughput with concurrent callers):")
    for name in o:
        if isinstance(o[name], dict):
            row = o[name]
            added = f"  added p50 {row['added_p50_ms']:.3f} ms, p99 {row['added_p99_ms']:.3f} ms" if "added_p50_ms" in row else ""
            print(f"  {name:8} p50 {row['p50_ms']:.3f} ms  p99 {row['p99_ms']:.3f} ms  {row['calls_per_s']:.0f} calls/s{added}")
    if with_litellm:
        print(f"  ours/LiteLLM added latency: p50 {o['ratio_added_p50']}, p99 {o['ratio_added_p99']} (goal ≤ 0.25); calls/s {o['ratio_calls_per_s']}×")
    else:
        print("  (LiteLLM not installed: pip install -e '.[bench]' for the comparison)")
    f = results["failover"]
    print("Failover, primary down (connection refused):")
    print(f"  ours     first call +{f['ours']['first_call_extra_ms']:.3f} ms, breaker open +{f['ours']['breaker_open_extra_ms']:.3f} ms over the backup alone ({f['ours']['backup_alone_p50_ms']:.3f} ms; goal < 5 ms)")
    if "litellm" in f:
        print(f"  litellm  first call +{f['litellm']['first_call_extra_ms']:.3f} ms, cooled down +{f['litellm']['cooled_down_extra_ms']:.3f} ms over the backup alone ({f['litellm']['backup_alone_p50_ms']:.3f} ms)")
    if "memory" in results:
        m = results["memory"]
        print(f"Memory: RSS {m['rss_mb_at_checkpoint']} MB after {m['checkpoint']:,} calls, {m['rss_mb_at_end']} MB after {m['calls']:,} ({m['growth_mb']:+.1f} MB)")


if __name__ == "__main__":
    main()
