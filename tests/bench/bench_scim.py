"""`scim apply` at scale: a 10,000-user account (about 30,000 grants on 1,000 serials) pushed to a
local scim2-server through the tests' counting proxy, then pushed again.

    python tests/bench/bench_scim.py              # 10,000 users
    python tests/bench/bench_scim.py 2000 --chunk 50
    python tests/bench/bench_scim.py --cap 7      # a server whose pages hold at most 7 resources
    python tests/bench/bench_scim.py --cap 7 --announced   # ... and say so in filter.maxResults

The bound for the first push is users + groups + ⌈memberships / chunk⌉ + reads: one POST per
user, one per group (its first chunk of members with it), a PATCH per further chunk, and the reads
(the ServiceProviderConfig, then the pages). The second push must make only reads: the config and
⌈users / per page⌉ + ⌈groups / per page⌉ pages, per page being the least of --page-size (100) and
the cap. Each push is a whole `reconciler scim apply` process, its wall time printed beside its
requests.
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


def push(proxy: FaultProxy, env: dict[str, str], chunk: int) -> tuple[float, int, int]:
    """One `scim apply`: its wall time, the requests it made and the pages it read (GETs of lists)."""
    proxy.clear()
    started = time.perf_counter()
    subprocess.run(
        [*reconciler("scim", "apply", "--auto-approve", "--chunk", str(chunk)), "--url", proxy.url],
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
        proxy.start()
        try:
            first_seconds, first_requests, first_pages = push(proxy, env, arguments.chunk)
            second_seconds, second_requests, second_pages = push(proxy, env, arguments.chunk)
            writes_second = second_requests - second_pages - 1  # the config is read once a push
        finally:
            proxy.stop()
            server.close()
    bound = users + groups + math.ceil(memberships / arguments.chunk) + 1 + first_pages
    pages = math.ceil(users / per_page) + math.ceil(groups / per_page)
    cap = (
        ""
        if arguments.cap is None
        else f", pages capped at {arguments.cap} ({'announced' if arguments.announced else 'unannounced'})"
    )
    print(
        f"{users:,} users, {memberships:,} grants, {groups:,} groups (serials with access), chunk {arguments.chunk}"
        + cap
    )
    print(
        f"  first push:  {first_requests:,} requests ({first_pages} pages read), bound {bound:,} "
        f"(users + groups + ⌈memberships/chunk⌉ + config + pages)  {'ok' if first_requests <= bound else 'OVER'}  "
        f"{first_seconds:.1f} s"
    )
    print(
        f"  second push: {second_requests:,} requests, {second_pages:,} of them page reads (expected {pages:,}), "
        f"{writes_second} writes  {'ok' if writes_second == 0 and second_pages == pages else 'WRONG'}  "
        f"{second_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
