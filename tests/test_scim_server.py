"""The SCIM server and the fault proxy the SCIM client's tests run against (tests/scim_server.py) do
what they say, checked with plain httpx; and scim2-tester finds the server compliant, so that a broken
fixture shows as the server's fault, not the client's."""

from __future__ import annotations

import httpx
from scim_server import FaultProxy, ScimServer


def test_the_server_refuses_a_request_without_its_token_and_serves_one_with_it(scim: ScimServer) -> None:
    assert httpx.get(f"{scim.url}/Users").status_code == 401
    with scim.client() as client:
        assert client.get("/Users").json()["totalResults"] == 0


def test_the_proxy_forwards_and_records(scim: ScimServer, scim_proxy: FaultProxy) -> None:
    scim.create_user("alice@acme.example")
    with httpx.Client(base_url=scim_proxy.url, headers={"Authorization": f"Bearer {scim.token}"}) as client:
        assert client.get("/Users").json()["totalResults"] == 1
    assert scim_proxy.requests == [("GET", "/Users", 200)]
