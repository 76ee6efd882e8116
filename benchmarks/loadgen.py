"""The load generator: closed-loop gRPC calls from separate processes.

`run_load()` spawns fresh interpreters (gRPC does not survive a fork), each
with its own channels — each channel its own connection — and calls in flight
spread over them. Every call is sent as soon as the previous one on its slot
came back. All processes start together, warm up, then measure over one
window of the shared monotonic clock:

- throughput counts the calls that completed inside the window;
- latency is taken of the calls that started and completed inside it;
- each process reports the CPU it used in the window, to show whether the
  load generator, rather than the server, is what runs out of CPU.

Requests are serialized once, before the run, and answers are not parsed, so
the generator costs the same per call whatever it talks to. The `client` mode
goes through discretion_client.AsyncClient instead, converting every request
and answer, to measure what the Python client adds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Callable

_CALL_TIMEOUT = 10.0  # seconds; every call carries a deadline, as the client's do
_READY_TIMEOUT = 60.0
_READY = "ready"


@dataclass(frozen=True)
class Job:
    target: str
    method: str  # the full gRPC method; unused in client mode
    payloads: tuple[bytes, ...]  # serialized requests, sent in turn
    channels: int  # per process
    in_flight: int  # per process
    client_batch: int = 0  # > 0: go through discretion_client.AsyncClient with this batch size instead


@dataclass
class Measurement:
    calls: int = 0  # completed in the window
    errors: int = 0
    window: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    client_cpu: float = 0.0  # seconds of CPU the load processes used in the window

    def rate(self) -> float:
        return self.calls / self.window

    def percentile(self, share: float) -> float:
        """The latency at `share` (0.99 for p99), in milliseconds."""
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))] / 1e6 if ordered else float("nan")


def run_load(job: Job, processes: int, warmup: float, window: float,
             during: Callable[[float, float], None] | None = None) -> Measurement:
    """Load from `processes` processes; `during(warm_end, end)` runs here meanwhile (monotonic seconds)."""
    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for _ in range(processes):
        ours, theirs = context.Pipe()
        worker = context.Process(target=_generate, args=(job, theirs), daemon=True)
        worker.start()
        theirs.close()
        pipes.append(ours)
        workers.append(worker)
    try:
        for pipe in pipes:
            if not pipe.poll(_READY_TIMEOUT):
                raise RuntimeError("a load process did not connect in time")
            message = pipe.recv()
            if message != _READY:
                raise RuntimeError(f"a load process failed: {message}")
        start = time.monotonic() + 0.1
        times = (start, start + warmup, start + warmup + window)
        for pipe in pipes:
            pipe.send(times)
        if during is not None:
            during(times[1], times[2])
        total = Measurement(window=window)
        for pipe in pipes:
            if not pipe.poll(window + warmup + _CALL_TIMEOUT + 30):
                raise RuntimeError("a load process did not report in time")
            part = pipe.recv()
            if isinstance(part, str):
                raise RuntimeError(f"a load process failed: {part}")
            total.calls += part.calls
            total.errors += part.errors
            total.client_cpu += part.client_cpu
            total.latencies_ns += part.latencies_ns
        return total
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()


# ---- in each load process -----------------------------------------------------------

def _generate(job: Job, parent: Connection) -> None:
    try:
        asyncio.run(_load(job, parent))
    except Exception as error:  # noqa: BLE001 — reported to the parent, which stops the benchmark
        parent.send(f"{type(error).__name__}: {error}")


async def _load(job: Job, parent: Connection) -> None:
    call, close = await _connect(job)
    try:
        for slot in range(job.channels):  # open every connection before the clock starts
            await call(slot)
        parent.send(_READY)
        start, warm_end, end = parent.recv()
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        result = Measurement(window=end - warm_end)
        cpu = asyncio.create_task(_cpu_in_window(warm_end, end))
        await asyncio.gather(*(_slot(call, slot, warm_end, end, result) for slot in range(job.in_flight)))
        result.client_cpu = await cpu
        parent.send(result)
    finally:
        await close()


async def _slot(call, slot: int, warm_end: float, end: float, result: Measurement) -> None:
    """One call in flight at a time, from now until the window ends."""
    turn = slot
    clock = time.monotonic_ns
    warm_ns, end_ns = int(warm_end * 1e9), int(end * 1e9)
    latencies = result.latencies_ns
    while True:
        started = clock()
        if started >= end_ns:
            return
        try:
            await call(turn)
        except Exception:  # noqa: BLE001 — counted; an error is never a measured call
            result.errors += 1
            continue
        finally:
            turn += 1
        done = clock()
        if warm_ns <= done <= end_ns:
            result.calls += 1
            if started >= warm_ns:
                latencies.append(done - started)


async def _cpu_in_window(warm_end: float, end: float) -> float:
    await asyncio.sleep(max(0.0, warm_end - time.monotonic()))
    before = time.process_time()
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    return time.process_time() - before


async def _connect(job: Job):
    """(call(turn), close()) for the job: raw bytes over its own channels, or the Python client."""
    if job.client_batch:
        return _client(job)
    import grpc.aio

    # A local subchannel pool gives each channel its own connection, as the
    # Python client does; shared, they would all ride on one.
    channels = [grpc.aio.insecure_channel(job.target, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(job.channels)]
    stubs = [channel.unary_unary(job.method) for channel in channels]
    payloads = job.payloads

    async def call(turn: int) -> bytes:
        return await stubs[turn % len(stubs)](payloads[turn % len(payloads)], timeout=_CALL_TIMEOUT)

    async def close() -> None:
        for channel in channels:
            await channel.close()

    return call, close


def _client(job: Job):
    import discretion_client as dc

    from mix import client_requests, cycle

    client = dc.AsyncClient(job.target, channels=job.channels, timeout=_CALL_TIMEOUT)
    requests = client_requests()
    if job.client_batch == 1:
        async def call(turn: int):
            return await client.check(requests[turn % len(requests)])
    else:
        batch = cycle(requests, job.client_batch)

        async def call(turn: int):
            return await client.check_batch(batch)

    return call, client.close
