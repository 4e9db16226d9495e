"""Security fixtures: users in the session database and an app with its rate limits set by the test."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from tests.gateway.memory.service_fixtures import add_user


@pytest.fixture
async def alice(app: FastAPI, user_id: str) -> str:
    await add_user(app.state.services.pool, user_id, "alice")
    return user_id


@pytest.fixture
async def bob(app: FastAPI, user_id: str) -> str:
    other = str(10**17 + uuid.uuid4().int % 10**17)  # not a prefix or extension of alice's id
    await add_user(app.state.services.pool, other, "bob")
    return other
