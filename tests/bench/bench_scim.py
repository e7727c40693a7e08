"""`scim apply` at scale: a 10,000-user account (about 30,000 grants on 1,000 serials) pushed to a
local scim2-server through the tests' counting proxy, then pushed again.

    python tests/bench/bench_scim.py              # 10,000 users
    python tests/bench/bench_scim.py 2000 --chunk 50
    python tests/bench/bench_scim.py --cap 7      # a server whose pages hold at most 7 resources
    python tests/bench/bench_scim.py --cap 7 --announced   # ... and say so in filter.maxResults
    python tests/bench/bench_scim.py --delay-ms 20 --concurrency 1 8   # a remote provider, K=1 against K=8

The bound for the first push is users + groups + ⌈memberships / chunk⌉ + reads: one POST per
user, one per group (its first chunk of members with it), a PATCH per further chunk, and the reads
(the ServiceProviderConfig, then the pages). The second push must make only reads: the config and
⌈users / per page⌉ + ⌈groups / per page⌉ pages, per page being the least of --page-size (100) and
the cap. Each push is a whole `reconciler scim apply` process, its wall time printed beside its
requests.

With --delay-ms the proxy holds every request that long before it passes it on, as a provider
across the internet would take a round trip; with several --concurrency values each gets a
directory of its own (a new tenant), and the first pushes' wall times are compared with the first
value's.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' SCIM server and proxy
from bench_scale import applied_sqlite, reconciler
from common import account_file
from scim_server import FaultProxy, ScimServer, capping_config

from reconciler.store import open_store

PAGE_SIZE = 100  # scim apply's default --page-size


def push(proxy: FaultProxy, env: dict[str, str], chunk: int, concurrency: int) -> tuple[float, int, int]:
    """One `scim apply`: its wall time, the requests it made and the pages it read (GETs of lists)."""
    proxy.clear()
    started = time.perf_counter()
    subprocess.run(
        [
            *reconciler("scim", "apply", "--auto-approve", "--chunk", str(chunk)),
            *("--concurrency", str(concurrency), "--url", proxy.url),
        ],
        env={**env, "RECONCILER_SCIM_TOKEN": proxy.server.token},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pages = proxy.count("GET", "/Users?") + proxy.count("GET", "/Groups?")
    return time.perf_counter() - started, len(proxy.requests), pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", type=int, nargs="?", default=10_000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument(
        "--cap",
        type=int,
        help="the server's pages hold at most CAP resources, whatever count asks (RFC 7644 §3.4.2.4)",
    )
    parser.add_argument(
        "--announced",
        action="store_true",
        help="with --cap: the server says so in filter.maxResults (else only in pagination.maxPageSize)",
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, help="added by the proxy to every request")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1], metavar="K", help="scim apply --concurrency K"
    )
    arguments = parser.parse_args()
    config = None if arguments.cap is None else capping_config(arguments.cap, announced=arguments.announced)
    per_page = min(PAGE_SIZE, arguments.cap or PAGE_SIZE)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = applied_sqlite(folder, account_file(folder, arguments.users))
        snapshot = open_store(env["RECONCILER_STORE"]).snapshot()
        users, memberships = len(snapshot.state.users), len(snapshot.grants)
        groups = len({serial for _, serial in snapshot.grants})
        server = ScimServer(config=config)
        server.start()
        proxy = FaultProxy(server)
        proxy.delay = arguments.delay_ms / 1000
        proxy.start()
        figures = []
        try:
            for concurrency in arguments.concurrency:
                server.reset()  # a directory of its own
                first = push(proxy, env, arguments.chunk, concurrency)
                second = push(proxy, env, arguments.chunk, concurrency)
                figures.append((concurrency, first, second))
        finally:
            proxy.stop()
            server.close()
    cap = (
        ""
        if arguments.cap is None
        else f", pages capped at {arguments.cap} ({'announced' if arguments.announced else 'unannounced'})"
    )
    delay = f", {arguments.delay_ms:g} ms added to each request" if arguments.delay_ms else ""
    print(
        f"{users:,} users, {memberships:,} grants, {groups:,} groups (serials with access), "
        f"chunk {arguments.chunk}{cap}{delay}"
    )
    pages = math.ceil(users / per_page) + math.ceil(groups / per_page)
    base = figures[0][1][0]
    for concurrency, (first_seconds, first_requests, first_pages), second in figures:
        second_seconds, second_requests, second_pages = second
        writes_second = second_requests - second_pages - 1  # the config is read once a push
        bound = users + groups + math.ceil(memberships / arguments.chunk) + 1 + first_pages
        print(f"  --concurrency {concurrency}:")
        print(
            f"    first push:  {first_requests:,} requests ({first_pages} pages read), bound {bound:,} "
            f"(users + groups + ⌈memberships/chunk⌉ + config + pages)  "
            f"{'ok' if first_requests <= bound else 'OVER'}  {first_seconds:.1f} s"
            + (
                f", {base / first_seconds:.1f}x faster than K={figures[0][0]}"
                if concurrency != figures[0][0]
                else ""
            )
        )
        print(
            f"    second push: {second_requests:,} requests, {second_pages:,} of them page reads (expected "
            f"{pages:,}), {writes_second} writes  {'ok' if writes_second == 0 and second_pages == pages else 'WRONG'}"
            f"  {second_seconds:.1f} s"
        )


if __name__ == "__main__":
    main()
