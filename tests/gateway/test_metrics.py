"""Prometheus metrics: route templates (never raw user ids), chat turns, LLM calls, degraded components,
memories stored."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.gateway.conftest import service_auth


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        if metric == name and not labels:
            return float(value)
        if metric.startswith(name + "{"):
            found = ",".join(sorted(metric[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    return 0.0


async def test_gateway_metrics_count_what_happened(client: httpx.AsyncClient, app: FastAPI) -> None:
    user = "987654321012345678"
    response = await client.post(
        f"/api/chat/{user}/messages",
        json={"message": "I got a new puppy today!", "username": "m"},
        headers=service_auth(),
    )
    assert response.status_code == 200
    await app.state.services.chat.writer.drain()
    text = (await client.get("/metrics")).text
    route = "/api/chat/{user_id}/messages"
    assert sample(text, "companion_http_requests_total", method="POST", route=route, status="200") == 1
    assert user not in text  # user ids never become label values
    assert sample(text, "companion_chat_turns_total", runtime="template") == 1
    assert (
        sample(text, "companion_degraded_total", component="chat_llm") == 0
    )  # offline mode is not a failure
    assert sample(text, "companion_memories_stored_total", memory_type="episodic") == 1
    assert sample(text, "companion_chat_overhead_seconds_count") == 1
    assert 'companion_queued_work{kind="memories"} 0.0' in text


async def test_embedding_service_metrics(embedding_service_url: str) -> None:
    async with httpx.AsyncClient(base_url=embedding_service_url) as http:
        before = (await http.get("/metrics")).text
        text = "metrics count this sentence exactly once " + str(id(before))
        assert (await http.post("/embed", json={"texts": [text, text]})).status_code == 200
        assert (await http.post("/embed", json={"texts": [text]})).status_code == 200
        after = (await http.get("/metrics")).text
    model_before = sample(before, "embedding_texts_total", task="RETRIEVAL_DOCUMENT", source="model")
    cache_before = sample(before, "embedding_texts_total", task="RETRIEVAL_DOCUMENT", source="cache")
    assert (
        sample(after, "embedding_texts_total", task="RETRIEVAL_DOCUMENT", source="model") == model_before + 1
    )
    assert (
        sample(after, "embedding_texts_total", task="RETRIEVAL_DOCUMENT", source="cache") == cache_before + 1
    )
    assert sample(after, "embedding_http_requests_total", method="POST", route="/embed", status="200") >= 2


async def test_job_runs_are_counted(client: httpx.AsyncClient) -> None:
    from tests.gateway.conftest import admin_auth

    ran = await client.post("/api/admin/jobs/needs_update/run?wait=true", headers=admin_auth())
    assert ran.status_code == 200, ran.text
    text = (await client.get("/metrics")).text
    assert sample(text, "companion_job_runs_total", job="needs_update", outcome=ran.json()["status"]) == 1
    assert sample(text, "companion_job_seconds_count", job="needs_update") == 1


async def test_a_path_parameter_never_becomes_a_label_value(client: httpx.AsyncClient) -> None:
    """A request for any job name (unknown and unauthenticated here) is counted under the route's template."""
    name = "scanner-" + "x" * 20
    await client.post(f"/api/admin/jobs/{name}/run")
    text = (await client.get("/metrics")).text
    assert name not in text
    route = "/api/admin/jobs/{name}/run"
    assert sample(text, "companion_http_requests_total", method="POST", route=route, status="401") == 1
