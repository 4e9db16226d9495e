"""A terminal chat with the companion, over HTTP with the service token, exactly as the Discord bot talks."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import httpx

PROMPT = "you> "


class GatewayChat:
    def __init__(self, base_url: str, token: str, user_id: str, username: str) -> None:
        self.user_id = user_id
        self.username = username
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )

    def readiness(self) -> dict[str, Any]:
        response = self.client.get("/health/ready")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def send(self, text: str) -> str:
        response = self.client.post(
            f"/api/chat/{self.user_id}/messages", json={"message": text, "username": self.username}
        )
        if response.status_code >= 400:
            body = response.json()
            return f"(gateway error {response.status_code}: {body.get('error')}: {body.get('detail')})"
        data: dict[str, Any] = response.json()
        return format_reply(data)

    def close(self) -> None:
        self.client.close()


def format_reply(data: dict[str, Any]) -> str:
    """The reply, then who wrote it (model, or offline templates), the mood and what was degraded."""
    reply = str(data.get("response", ""))
    source = "offline templates" if data.get("offline") else f"{data.get('runtime')}: {data.get('model')}"
    notes = [source, f"mood {data.get('emotion_label')}"]
    if data.get("memories_used"):
        notes.append(f"{len(data['memories_used'])} memories")
    if data.get("degraded"):
        notes.append("degraded: " + ", ".join(data["degraded"]))
    return f"{reply}\n           [{'; '.join(notes)}]"


def format_readiness(ready: dict[str, Any]) -> str:
    parts = []
    for name, status in ready.get("dependencies", {}).items():
        mark = "ok" if status.get("ok") else f"DOWN ({status.get('detail')})"
        parts.append(f"{name} {mark} {status.get('latency_ms')} ms")
    return f"gateway {ready.get('status')}: " + "; ".join(parts)


def run_chat(base_url: str, token: str, user_id: str | None = None) -> None:
    username = getpass.getuser()
    chat = GatewayChat(base_url, token, user_id or f"local-{username}", username)
    try:
        print(format_readiness(chat.readiness()))
        print("Type a message and press Enter. /health shows the dependencies; Ctrl-C or Ctrl-D quits.")
        while True:
            try:
                line = input(PROMPT).strip()
            except EOFError:
                print()
                return
            if not line:
                continue
            if line == "/health":
                print(format_readiness(chat.readiness()))
                continue
            try:
                print("companion> " + chat.send(line))
            except httpx.HTTPError as exc:
                print(f"(gateway unreachable: {exc})", file=sys.stderr)
    finally:
        chat.close()
