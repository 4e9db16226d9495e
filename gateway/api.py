"""The one place that mounts routers: domain routers declare no prefix of their own, and the error responses
each route can give are declared here for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.admin.router import router as admin_router
from gateway.auth import require_admin_key, require_service_token
from gateway.bot.router import admin_router as bot_admin_router
from gateway.bot.router import router as bot_router
from gateway.chat.router import router as chat_router
from gateway.errors import error_responses
from gateway.jobs.router import router as jobs_router
from gateway.memory.router import router as memory_router
from gateway.personality.router import router as personality_router
from gateway.proactive.router import router as proactive_router
from gateway.security.router import admin_router as security_admin_router
from gateway.security.router import router as security_router
from gateway.users.router import router as users_router


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _dependencies(dependency)


def _has_input(dependant: Dependant) -> bool:
    return any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
        for d in (dependant, *_dependencies(dependant))
    )


def declare_error_responses(router: APIRouter) -> APIRouter:
    """Adds to each route of ``router`` the errors it can answer, read from the route itself: 401 behind a
    token, 429 behind the service token (the rate limiter counts those), 404 for an id in the path, 413 and
    422 for input. Errors only a route knows about (409, 503) it declares itself with
    :func:`gateway.errors.error_responses`. Call before ``include_router``, which copies the routes."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        calls = {dependency.call for dependency in _dependencies(route.dependant)}
        statuses: list[int] = []
        if require_service_token in calls:
            statuses += [401, 429]
        elif require_admin_key in calls:
            statuses.append(401)
        if route.param_convertors:
            statuses.append(404)
        if route.body_field is not None:
            statuses.append(413)
        if _has_input(route.dependant):
            statuses.append(422)
        route.responses = {**error_responses(*statuses), **route.responses}
    return router


def build_api_router() -> APIRouter:
    api = APIRouter(prefix="/api")
    for router in (
        chat_router,
        users_router,
        memory_router,
        personality_router,
        security_router,
        admin_router,
        security_admin_router,
        bot_router,
        bot_admin_router,
        proactive_router,
        jobs_router,
    ):
        declare_error_responses(router)
    api.include_router(chat_router, prefix="/chat")
    api.include_router(users_router, prefix="/users")
    api.include_router(memory_router, prefix="/memory")
    api.include_router(personality_router, prefix="/personality")
    api.include_router(security_router, prefix="/security")
    api.include_router(admin_router, prefix="/admin")
    api.include_router(security_admin_router, prefix="/admin/security")
    api.include_router(bot_router, prefix="/bot")
    api.include_router(bot_admin_router, prefix="/admin/bot")
    api.include_router(proactive_router, prefix="/proactive")
    api.include_router(jobs_router, prefix="/admin/jobs")
    return api
