"""Run the local Greenhouse as a process until SIGTERM or SIGINT.

    python -m connect_pipeline.testkit.local_greenhouse --world DIR [--host H] [--port P]
           [--rate-limit N] [--window S] [--token-ttl S]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .server import LocalGreenhouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connect_pipeline.testkit.local_greenhouse")
    parser.add_argument("--world", type=Path, required=True, help="world directory to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--rate-limit", type=int, default=300, help="requests per window per credential")
    parser.add_argument("--window", type=float, default=30.0, help="rate-limit window in seconds")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime in seconds")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = LocalGreenhouse(
        args.world,
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        window_seconds=args.window,
        token_ttl_seconds=args.token_ttl,
    ).start()
    print(f"listening on {server.base_url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
