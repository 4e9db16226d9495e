"""A fake Qdrant server speaking the REST calls the backup makes: list and read collections, create, download
and delete a collection snapshot, recover a collection from an uploaded snapshot (multipart field
``snapshot``, ``priority`` query parameter), and ``GET /`` with the version. The real server cannot run here
and the local-mode client has no snapshots."""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VERSION = "1.19.1"


@dataclass
class FakeQdrant:
    """Collections are lists of point ids; a snapshot is their JSON."""

    collections: dict[str, list[str]] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], bytes] = field(default_factory=dict)
    uploads: list[tuple[str, str | None]] = field(default_factory=list)  # (collection, priority)
    api_key: str | None = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.root),
                Route("/readyz", self.ready),
                Route("/collections", self.list_collections),
                Route("/collections/{name}", self.collection),
                Route("/collections/{name}/snapshots", self.create_snapshot, methods=["POST"]),
                Route("/collections/{name}/snapshots/upload", self.upload, methods=["POST"]),
                Route("/collections/{name}/snapshots/{snap}", self.snapshot, methods=["GET", "DELETE"]),
            ]
        )

    def _refused(self, request: Request) -> Response | None:
        if self.api_key and request.headers.get("api-key") != self.api_key:
            return JSONResponse({"status": {"error": "Must provide an API key"}}, status_code=401)
        return None

    @staticmethod
    def _ok(result: Any) -> JSONResponse:
        return JSONResponse({"result": result, "status": "ok", "time": 0.001})

    async def root(self, request: Request) -> Response:
        return JSONResponse({"title": "qdrant - vector search engine", "version": VERSION})

    async def ready(self, request: Request) -> Response:
        return Response("all shards are ready", media_type="text/plain")

    async def list_collections(self, request: Request) -> Response:
        return self._refused(request) or self._ok({"collections": [{"name": n} for n in self.collections]})

    async def collection(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.collections:
            return JSONResponse({"status": {"error": f"Collection `{name}` doesn't exist!"}}, status_code=404)
        return self._refused(request) or self._ok(
            {"status": "green", "points_count": len(self.collections[name])}
        )

    async def create_snapshot(self, request: Request) -> Response:
        name = request.path_params["name"]
        snap = f"{name}-{len(self.snapshots)}.snapshot"
        data = json.dumps(self.collections[name]).encode()
        self.snapshots[(name, snap)] = data
        return self._refused(request) or self._ok({"name": snap, "creation_time": None, "size": len(data)})

    async def snapshot(self, request: Request) -> Response:
        key = (request.path_params["name"], request.path_params["snap"])
        if key not in self.snapshots:
            return JSONResponse({"status": {"error": "snapshot not found"}}, status_code=404)
        if request.method == "DELETE":
            del self.snapshots[key]
            return self._ok(True)
        return Response(self.snapshots[key], media_type="application/octet-stream")

    async def upload(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + await request.body())
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "snapshot" not in parts:
            return JSONResponse({"status": {"error": "no snapshot field"}}, status_code=400)
        name = request.path_params["name"]
        self.collections[name] = json.loads(parts["snapshot"].get_payload(decode=True))
        self.uploads.append((name, request.query_params.get("priority")))
        return self._ok(True)
