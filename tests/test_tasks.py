"""BackgroundTasks: kept until done, failures logged by name, stopped within a bound on close."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
import structlog

from agent.tasks import BackgroundTasks, while_serving


async def forever() -> None:
    # A future only this coroutine knows of: nothing but a strong reference keeps the task alive.
    await asyncio.get_running_loop().create_future()


async def fail(message: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


async def test_a_failure_is_logged_with_its_names_and_the_others_carry_on() -> None:
    tasks = BackgroundTasks("turns")
    go_on = asyncio.Event()

    async def steady() -> str:
        await go_on.wait()
        return "done"

    with structlog.testing.capture_logs() as events:
        failing = tasks.spawn(fail("broken"), "turn", call_sid="CA1")
        other = tasks.spawn(steady(), "other")
        await asyncio.wait({failing}, timeout=2)
        go_on.set()
        assert await asyncio.wait_for(other, 2) == "done"
    (failed,) = [e for e in events if e["event"] == "background_task_failed"]
    assert (failed["tasks"], failed["task"], failed["call_sid"], failed["log_level"]) == ("turns", "turn", "CA1", "error")
    assert isinstance(failed["exc_info"], RuntimeError) and str(failed["exc_info"]) == "broken"
    assert len(tasks) == 0


async def test_an_unreported_failure_is_left_to_whoever_awaits_it_until_reported() -> None:
    tasks = BackgroundTasks("turns")
    with structlog.testing.capture_logs() as events:
        awaited = tasks.spawn(fail("seen"), "awaited", report=False)
        with pytest.raises(RuntimeError, match="seen"):
            await awaited
        abandoned = tasks.spawn(fail("unseen"), "abandoned", report=False)
        tasks.report(abandoned)
        await asyncio.wait({abandoned}, timeout=2)
    assert [e["task"] for e in events if e["event"] == "background_task_failed"] == ["abandoned"]


async def test_close_cancels_and_waits_for_each_task() -> None:
    tasks = BackgroundTasks("listeners")
    cleaned: list[str] = []

    async def listen(name: str) -> None:
        try:
            await forever()
        finally:
            await asyncio.sleep(0.01)  # cleanup that itself awaits must finish before close returns
            cleaned.append(name)

    spawned = [tasks.spawn(listen(n), n) for n in ("a", "b")]
    await asyncio.sleep(0)
    with structlog.testing.capture_logs() as events:
        await tasks.close()
    assert sorted(cleaned) == ["a", "b"]
    assert all(t.cancelled() for t in spawned)
    assert len(tasks) == 0
    assert not [e for e in events if e["log_level"] in ("error", "warning")]


async def test_close_gives_running_tasks_their_grace_first() -> None:
    tasks = BackgroundTasks("turns")

    async def quick() -> str:
        await asyncio.sleep(0.05)
        return "answered"

    quick_task = tasks.spawn(quick(), "quick")
    slow_task = tasks.spawn(forever(), "slow")
    await tasks.close(grace_s=1.0)
    assert quick_task.result() == "answered"
    assert slow_task.cancelled()


async def test_close_is_bounded_when_a_task_swallows_its_cancellation() -> None:
    tasks = BackgroundTasks("redis")
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await forever()
        except asyncio.CancelledError:
            await release.wait()  # as a client read that eats the cancel would

    task = tasks.spawn(stubborn(), "stubborn")
    await asyncio.sleep(0)
    with structlog.testing.capture_logs() as events:
        await asyncio.wait_for(tasks.close(stop_s=0.1), 2)
    assert not task.done()
    (stuck,) = [e for e in events if e["event"] == "background_tasks_not_stopped"]
    assert (stuck["tasks"], stuck["names"]) == ("redis", ["stubborn"])
    release.set()
    await asyncio.wait_for(task, 2)


async def test_a_running_task_is_not_garbage_collected() -> None:
    # The premise: a task nobody keeps is collected while it waits.
    bare = weakref.ref(asyncio.get_running_loop().create_task(forever()))
    await asyncio.sleep(0)  # it runs up to its wait
    for _ in range(3):
        gc.collect()
    assert bare() is None

    tasks = BackgroundTasks("kept")
    kept = weakref.ref(tasks.spawn(forever(), "kept"))
    await asyncio.sleep(0)
    for _ in range(3):
        gc.collect()
    task = kept()
    assert task is not None and not task.done()
    assert len(tasks) == 1
    await tasks.close()
    assert task.cancelled()


async def test_while_serving_runs_from_start_up_to_shutdown() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        started.set()
        try:
            await forever()
        finally:
            stopped.set()

    context = while_serving("sweep", run)(object())
    await anext(context)  # start-up
    await asyncio.wait_for(started.wait(), 2)
    assert not stopped.is_set()
    with pytest.raises(StopAsyncIteration):
        await anext(context)  # shutdown
    assert stopped.is_set()
