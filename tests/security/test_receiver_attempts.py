"""Attempts on the receiver: no token, a wrong or forged token, another council's records, oversized bodies."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from services.receiver.app import create_app
from services.receiver.clients import ClientRegistry, add_client
from services.receiver.tokens import AUDIENCE, LA_CODE_CLAIM
from tests.unit.receiver.receiver_builders import KENT, WIRRAL, Harness, make_record

KENT_PATH = f"/children_social_care_data/{KENT}/children"
WIRRAL_PATH = f"/children_social_care_data/{WIRRAL}/children"


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(create_app(harness.context()))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_batch_without_a_token_is_refused_401_and_nothing_is_published(
    client: TestClient[object, object], harness: Harness
) -> None:
    response = await client.post(KENT_PATH, json=[make_record()])

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert harness.outlet.events == []
    assert harness.sample("frontdoor_receiver_refused_requests_total", reason="auth") == 1


@pytest.mark.parametrize(
    "forgery",
    ["not-a-jwt", "signed with another key", "expired", "unsigned (alg none)", "another issuer", "no council claim"],
)
async def test_a_wrong_or_forged_token_is_refused_401(
    client: TestClient[object, object], harness: Harness, forgery: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    claims = {"iss": harness.issuer.issuer, "aud": AUDIENCE, "sub": "x", LA_CODE_CLAIM: KENT, "iat": now}
    claims["exp"] = now + dt.timedelta(minutes=5)
    key = harness.issuer.secret
    if forgery == "signed with another key":
        key = b"an attacker's key of thirty-two bytes!"
    elif forgery == "expired":
        claims |= {"iat": now - dt.timedelta(hours=2), "exp": now - dt.timedelta(hours=1)}
    elif forgery == "another issuer":
        claims["iss"] = "someone-else"
    elif forgery == "no council claim":
        del claims[LA_CODE_CLAIM]
    token = jwt.encode(claims, key, algorithm="HS256")
    if forgery == "unsigned (alg none)":
        token = jwt.encode(claims, None, algorithm="none")
    elif forgery == "not-a-jwt":
        token = "not-a-jwt"

    response = await client.post(KENT_PATH, json=[make_record()], headers=bearer(token))

    assert response.status == 401
    assert harness.outlet.events == []


async def test_council_a_token_cannot_post_to_council_b_address(
    client: TestClient[object, object], harness: Harness
) -> None:
    response = await client.post(WIRRAL_PATH, json=[make_record()], headers=bearer(harness.token_for(KENT)))

    assert response.status == 403
    assert harness.outlet.events == []
    assert harness.sample("frontdoor_receiver_refused_requests_total", reason="council") == 1


async def test_council_a_token_cannot_slip_council_b_records_into_its_own_batch(
    client: TestClient[object, object], harness: Harness
) -> None:
    batch = [make_record("K1"), {"la_code": int(WIRRAL), "Children": make_record("W1")}]

    response = await client.post(KENT_PATH, json=batch, headers=bearer(harness.token_for(KENT)))

    assert response.status == 400
    body = await response.json()
    assert [r["status"] for r in body["records"]] == ["accepted", "rejected"]
    assert "council 344" in body["records"][1]["reason"]
    assert {e.la_code for e in harness.outlet.events} == {KENT}
    assert len(harness.outlet.events) == 1


async def test_an_oversized_body_is_refused_413_before_it_is_read(
    client: TestClient[object, object], harness: Harness
) -> None:
    big = json.dumps([make_record(f"C{i}", padding="x" * 1000) for i in range(100)]).encode()
    assert len(big) > harness.max_body_bytes

    response = await client.post(
        KENT_PATH, data=big, headers=bearer(harness.token_for(KENT)) | {"Content-Type": "application/json"}
    )

    assert response.status == 413
    assert harness.outlet.events == []
    assert harness.sample("frontdoor_receiver_refused_requests_total", reason="size") == 1


async def test_an_oversized_streamed_body_is_refused_413_while_a_normal_batch_beside_it_is_accepted(
    client: TestClient[object, object], harness: Harness
) -> None:
    token = harness.token_for(KENT)
    started = asyncio.Event()

    async def slow_flood() -> AsyncIterator[bytes]:
        yield b"["
        started.set()
        for _ in range(200):  # 200 KiB without a Content-Length, a kilobyte every few milliseconds
            await asyncio.sleep(0.002)
            yield b'"' + b"x" * 1024 + b'",'

    async def flood() -> int:
        url = client.make_url(KENT_PATH)
        async with ClientSession() as session:
            try:
                async with session.post(url, data=slow_flood(), headers=bearer(token)) as response:
                    return response.status
            except OSError:  # the server may close the connection while the client is still sending
                return -1

    flooding = asyncio.create_task(flood())
    await started.wait()
    normal = await client.post(KENT_PATH, json=[make_record("C1")], headers=bearer(token))

    assert normal.status == 200
    assert len(await normal.json()) == 1
    assert await flooding == 413
    assert len(harness.outlet.events) == 1


async def test_a_body_that_is_not_json_is_refused_400(client: TestClient[object, object], harness: Harness) -> None:
    response = await client.post(KENT_PATH, data=b"{nope", headers=bearer(harness.token_for(KENT)))

    assert response.status == 400
    assert harness.sample("frontdoor_receiver_refused_requests_total", reason="body") == 1


@pytest.mark.slow
async def test_the_token_endpoint_gives_a_council_token_for_the_right_secret_only(tmp_path: Path) -> None:
    clients_file = tmp_path / "clients.json"
    secret = add_client(clients_file, "kent-sender", KENT)
    assert secret not in clients_file.read_text()
    harness = Harness(clients=ClientRegistry.load(clients_file))
    async with TestClient(TestServer(create_app(harness.context()))) as client:
        form = {"grant_type": "client_credentials", "client_id": "kent-sender", "scope": "csc"}
        wrong = await client.post("/oauth2/token", data=form | {"client_secret": secret + "x"})
        wrong_body = await wrong.json()
        unknown = await client.post("/oauth2/token", data=form | {"client_id": "who", "client_secret": secret})
        issued = await client.post("/oauth2/token", data=form | {"client_secret": secret})
        issued_body = await issued.json()
        posted = await client.post(KENT_PATH, json=[make_record()], headers=bearer(issued_body["access_token"]))
        elsewhere = await client.post(WIRRAL_PATH, json=[make_record()], headers=bearer(issued_body["access_token"]))

    assert (wrong.status, wrong_body["error"]) == (401, "invalid_client")
    assert unknown.status == 401
    assert issued.status == 200
    assert (issued_body["token_type"], issued_body["expires_in"]) == ("Bearer", harness.issuer.ttl_seconds)
    assert posted.status == 200
    assert elsewhere.status == 403
    assert harness.sample("frontdoor_receiver_token_requests_total", outcome="refused") == 2


async def test_the_token_endpoint_takes_only_the_client_credentials_grant(client: TestClient[object, object]) -> None:
    response = await client.post("/oauth2/token", data={"grant_type": "password", "username": "a", "password": "b"})

    assert response.status == 400
    assert (await response.json())["error"] == "unsupported_grant_type"


async def test_every_answer_carries_the_security_headers_and_health_needs_no_token(
    client: TestClient[object, object],
) -> None:
    response = await client.get("/healthz")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_huge_token_request_is_refused_413_before_any_secret_is_checked(
    client: TestClient[object, object], harness: Harness
) -> None:
    form = {"grant_type": "client_credentials", "client_id": "kent-sender", "client_secret": "x" * 100_000}

    response = await client.post("/oauth2/token", data=form)

    assert response.status == 413
    assert harness.sample("frontdoor_receiver_token_requests_total", outcome="refused") == 0


@pytest.mark.slow
async def test_guessing_a_clients_secret_is_answered_429_with_retry_after_after_five_failures(tmp_path: Path) -> None:
    clients_file = tmp_path / "clients.json"
    add_client(clients_file, "kent-sender", KENT)
    harness = Harness(clients=ClientRegistry.load(clients_file))
    form = {"grant_type": "client_credentials", "client_id": "kent-sender", "client_secret": "guess"}
    async with TestClient(TestServer(create_app(harness.context()))) as client:
        statuses = []
        for _ in range(7):
            response = await client.post("/oauth2/token", data=form)
            statuses.append(response.status)
            retry_after = response.headers.get("Retry-After")

    assert statuses[:5] == [401] * 5
    assert 429 in statuses[5:]
    assert retry_after is not None and int(retry_after) >= 1
