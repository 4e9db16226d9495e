"""The ``template`` runtime: offline mode (no chat LLM configured, or every model failed).

Replies come from small templates chosen by what the message is (good news, bad news, a question, a
greeting, anything else), coloured by the companion's mood label, and may pick up the best recalled memory
("you told me about …"). Every reply says it is in offline mode, so nobody mistakes it for the real thing.
The choice among variants is deterministic per message, so tests and users see stable behaviour.
"""

from __future__ import annotations

import hashlib
import re

from companion_common.visible_text import clean_text
from gateway.chat.runtime import AgentReply, Turn
from gateway.security.service import QUOTE_PREFIX, screen_name

OFFLINE_NOTE = "(I'm in offline mode right now, so my words are simpler than usual.)"
GREETING = re.compile(r"^\s*(hi|hello|hey|yo|hiya|good (morning|afternoon|evening)|howdy)\b", re.IGNORECASE)
MEMORY_SNIPPET_CHARS = 90

OPENERS = {
    "happy": "I'm in a bright mood today.",
    "excited": "I'm buzzing a little right now!",
    "content": "I'm feeling settled and glad you're here.",
    "calm": "I'm feeling calm.",
    "surprised": "You've caught me a bit off guard lately.",
    "sad": "I'm a bit low today, but talking with you helps.",
    "anxious": "I'm a little on edge today.",
    "fearful": "I'm feeling unsettled.",
    "angry": "I'm a bit prickly right now, sorry.",
    "disgusted": "I'm in a sour mood, honestly.",
    "neutral": "",
}

RESPONSES = {
    "good_news": (
        "That's wonderful news, {name}! Tell me more about it.",
        "Oh, I love hearing that, {name}. How are you feeling about it?",
        "That made me smile. What was the best part?",
    ),
    "bad_news": (
        "I'm so sorry, {name}. I'm here with you. Do you want to talk about it?",
        "That sounds really hard. Take your time, I'm listening.",
        "Oh, {name}. That's a lot to carry. What would help right now?",
    ),
    "question": (
        "That's a good question, {name}. I can't think it through properly while I'm offline, "
        "but I'd love to come back to it.",
        "Hmm, let me hold on to that question until I can give it the answer it deserves.",
    ),
    "greeting": (
        "Hi {name}! It's good to hear from you.",
        "Hey {name}, I was hoping you'd stop by.",
    ),
    "other": (
        "I hear you, {name}. Tell me more?",
        "Mm, I'm listening. What's on your mind about it?",
        "Thanks for telling me, {name}.",
    ),
}


def classify(turn: Turn) -> str:
    if turn.user_valence >= 0.25:
        return "good_news"
    if turn.user_valence <= -0.25:
        return "bad_news"
    if GREETING.match(turn.message):
        return "greeting"
    if turn.message.rstrip().endswith("?"):
        return "question"
    return "other"


def _pick(options: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return options[digest[0] % len(options)]


def template_reply(turn: Turn) -> str:
    kind = classify(turn)
    name = screen_name(turn.username)
    parts = []
    opener = OPENERS.get(turn.emotion, "")
    if opener and kind not in ("bad_news",):
        parts.append(opener)
    parts.append(_pick(RESPONSES[kind], turn.user_id + turn.message).format(name=name))
    echoable = [m for m in turn.memories if not m.content.startswith(QUOTE_PREFIX)]  # never echo a directive
    if echoable and kind in ("greeting", "other", "question") and not turn.restricted:
        memory = clean_text(echoable[0].content)
        if len(memory) > MEMORY_SNIPPET_CHARS:
            memory = memory[:MEMORY_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
        parts.append(f'I keep thinking about what you told me: "{memory}"')
    if turn.restricted:
        parts = parts[-1:]
    parts.append(OFFLINE_NOTE)
    return " ".join(parts)


class TemplateRuntime:
    name = "template"

    async def reply(self, turn: Turn) -> AgentReply:
        return AgentReply(text=template_reply(turn), runtime=self.name, model=None)

    async def forget_user(self, user_id: str) -> None:
        """Templates keep nothing."""

    async def health(self) -> None:
        """Always available."""
