"""The floor: Python gRPC answering without deciding anything.

    python benchmarks/floor_server.py --check-answer FILE --batch-answer FILE [--workers N]

Serves PolicyService's Check and CheckBatch the way `discretion serve` does —
worker processes sharing the port with SO_REUSEPORT, each a sync gRPC server
with 2 threads — but every call gets a fixed answer, read once from the files
(the bytes Discretion gave for the benchmark's mix): no parsing, no deciding,
no metrics. What it reaches is what Python gRPC allows on this machine under
the same load, the ceiling of any Python server here.

Prints `floor: serving on HOST:PORT`; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pathlib
import signal
import socket
import sys
import threading
from concurrent import futures

SERVICE = "discretion.v1.PolicyService"
THREADS = 2  # as `discretion serve` (its --threads default)


def _serve(port: int, answers: dict[str, bytes], ready) -> None:
    import grpc

    handlers = {name: grpc.unary_unary_rpc_method_handler(lambda request, context, answer=answer: answer)
                for name, answer in answers.items()}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=THREADS), options=[("grpc.so_reuseport", 1)],
                         handlers=[grpc.method_handlers_generic_handler(SERVICE, handlers)])
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    ready.send(True)
    while not stop.wait(0.2):
        pass
    server.stop(1).wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-answer", type=pathlib.Path, required=True)
    parser.add_argument("--batch-answer", type=pathlib.Path, required=True)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    answers = {"Check": args.check_answer.read_bytes(), "CheckBatch": args.batch_answer.read_bytes()}
    # Reserved before the workers start, so they all share one port.
    reserved = socket.socket()
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserved.bind(("127.0.0.1", 0))
    port = reserved.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    workers = []
    for _ in range(args.workers):
        ours, theirs = context.Pipe()
        worker = context.Process(target=_serve, args=(port, answers, theirs))
        worker.start()
        workers.append((worker, ours))
    for _, pipe in workers:
        pipe.recv()
    print(f"floor: serving on 127.0.0.1:{port} ({args.workers} workers)", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    while not stop.wait(0.2):
        pass
    for worker, _ in workers:
        worker.terminate()
    for worker, _ in workers:
        worker.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
