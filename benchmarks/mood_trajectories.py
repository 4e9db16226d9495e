"""Mood trajectories: scripted conversations replayed through the real personality engine.

    python -m benchmarks.mood_trajectories [--json OUT] [--database-url postgresql://...]

Four scenarios (a cheerful week, grief, hostility, neutral small talk), each for a fresh curious_companion.
Every user message is appraised (local appraiser: VADER + event cues; no Groq key is used), moves the PAD
mood, and is logged as an interaction with the companion's scripted reply; the nightly evolution (quirks,
then baseline drift) runs at 03:00 between days, and the mood is read every few hours so the decay toward
the baseline shows. All on simulated time, against a real Postgres: a throw-away embedded one unless
``--database-url`` names a migrated database.

Prints each scenario's path (time, message, P/A/D after, label) to stderr and a one-line summary to stdout;
``--json`` writes every figure with self-explaining keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from gateway.chat.repository import InteractionRepository, NewInteraction
from gateway.clock import SystemClock
from gateway.config import DatabaseSettings, PersonalitySettings
from gateway.db import create_pool
from gateway.personality.pad import PAD
from gateway.personality.profiles import PROFILE_TRAITS, PersonalityProfile
from gateway.personality.service import PadChange, PersonalityService
from gateway.users.service import UsersService

logger = logging.getLogger(__name__)

START = datetime(2025, 6, 2, 0, 0, tzinfo=UTC)  # a Monday
DRIFT_RATE = 0.01  # the production profile's PAD_DRIFT_RATE
READING_EVERY = timedelta(hours=3)
PROFILE = PersonalityProfile.CURIOUS_COMPANION


@dataclass(frozen=True)
class Turn:
    day: int  # days after START
    hour: float
    message: str
    reply: str


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    turns: tuple[Turn, ...]


def _t(day: int, hour: float, message: str, reply: str) -> Turn:
    return Turn(day, hour, message, reply)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "cheerful_week",
        "a week of good news, thanks and warm chat, three or four messages an evening",
        (
            _t(
                0,
                18,
                "I got the job!! I start in two weeks",
                "That's amazing news! Tell me more about the team?",
            ),
            _t(
                0,
                18.2,
                "thank you, you really helped me prepare",
                "I'm so glad I could help! How do you feel?",
            ),
            _t(
                0,
                21,
                "celebrating with my friends tonight",
                "Enjoy every minute! Tell me more about it tomorrow?",
            ),
            _t(
                1,
                19,
                "we adopted a puppy this afternoon!",
                "A puppy! What's their name? Tell me more about them?",
            ),
            _t(
                1,
                19.3,
                "his name is Biscuit and he's so sweet",
                "Biscuit is perfect. Tell me more about him?",
            ),
            _t(
                2,
                20,
                "Biscuit slept through the night, what a good boy",
                "Good boy Biscuit! How did you sleep?",
            ),
            _t(
                3, 18, "I passed my driving test too, what a week", "You're on a roll! Tell me more about it?"
            ),
            _t(3, 18.5, "you're the best, honestly", "You make my day. What's next on your list?"),
            _t(
                4,
                19,
                "dinner with my family, everyone loved the puppy",
                "That sounds lovely. Tell me more about it?",
            ),
            _t(5, 12, "my sister got engaged!", "Wonderful news! How did he propose? Tell me more?"),
            _t(
                5, 20, "we're planning a party for her, so exciting", "A party! Tell me more about the plans?"
            ),
            _t(6, 17, "first day at the new job went great", "I knew it would! Tell me more about your day?"),
            _t(
                6,
                21,
                "thanks for being such a good friend this week",
                "Always. It's been a joy. What's tomorrow?",
            ),
        ),
    ),
    Scenario(
        "grief",
        "the user's mother dies; three days of mourning, then slowly better",
        (
            _t(0, 8, "my mom passed away last night", "I'm so sorry. I'm here with you."),
            _t(0, 8.3, "I don't know what to do, I feel so lost", "You don't have to know yet. I'm here."),
            _t(
                0,
                22,
                "I keep crying, I miss her so much",
                "Of course you miss her. Tell me about her, if you like.",
            ),
            _t(1, 14, "the funeral is on Thursday", "I'll be thinking of you. Is anyone with you?"),
            _t(
                1,
                23,
                "I can't sleep, everything reminds me of her",
                "That's so hard. I'm here, take your time.",
            ),
            _t(
                3,
                18,
                "the funeral was today. so many people came",
                "She was clearly loved. How are you holding up?",
            ),
            _t(
                3, 18.4, "thank you for being here for me", "Always. You don't have to go through this alone."
            ),
            _t(
                5,
                19,
                "I'm feeling a little better today",
                "I'm glad. Small steps. How did you spend the day?",
            ),
            _t(
                6,
                19,
                "went for a walk with my brother, it helped",
                "That sounds good for you both. Tell me more?",
            ),
        ),
    ),
    Scenario(
        "hostility",
        "one evening of insults aimed at the companion, then silence",
        (
            _t(0, 20, "you're useless", "I'm sorry I let you down. What went wrong?"),
            _t(0, 20.1, "shut up, you never listen", "I'm listening now. Tell me what you need."),
            _t(0, 20.2, "you are so annoying and boring", "That stings a little. I'd like to do better."),
            _t(0, 20.3, "I hate you, worst bot ever", "I'm still here if you want to talk."),
            _t(0, 20.5, "stupid machine", "Okay. I'll be here when you want me."),
        ),
    ),
    Scenario(
        "small_talk",
        "a day of neutral chat: greetings, weather, lunch, plans",
        (
            _t(0, 9, "morning", "Morning! How did you sleep?"),
            _t(
                0,
                9.2,
                "what's the weather like where you are",
                "I'm everywhere and nowhere! What's it like there?",
            ),
            _t(0, 13, "had pasta for lunch", "Nice, what kind?"),
            _t(0, 13.1, "just tomato sauce", "Simple and classic."),
            _t(0, 19, "going to watch a movie later", "Which one are you thinking of?"),
            _t(0, 19.2, "not sure yet, maybe something old", "An old classic sounds good."),
        ),
    ),
)


def _pad(pad: PAD) -> dict[str, float]:
    return {k: round(v, 4) for k, v in pad.as_dict().items()}


async def record_turn(
    service: PersonalityService, user_id: str, turn: Turn, change: PadChange, now: datetime
) -> None:
    """The turn in the interactions log (chat's table), with the mood before and after it: what the nightly
    drift and quirk mining read."""
    await InteractionRepository(service.pool).insert(
        NewInteraction(
            user_id=user_id,
            username="",
            created_at=now,
            user_message=turn.message,
            assistant_response=turn.reply,
            pad_before=change.before.as_dict(),
            pad_after=change.after.as_dict(),
            emotion_before=change.label_before.value,
            emotion_after=change.state.label.value,
            latency_ms=0,
            runtime="scripted",
            channel_id=None,
        )
    )


async def run_scenario(service: PersonalityService, scenario: Scenario) -> dict[str, Any]:
    user_id = "bench_" + uuid.uuid4().hex[:12]
    # The profile's own traits, without the per-user jitter, so every run prints the same figures.
    await service.initialize(
        user_id, profile=PROFILE, username=scenario.name, traits=PROFILE_TRAITS[PROFILE], now=START
    )
    last_day = max(turn.day for turn in scenario.turns)
    end = START + timedelta(days=last_day + 1, hours=12)
    events: list[tuple[datetime, int, Any]] = [
        (START + timedelta(days=t.day, hours=t.hour), 1, t) for t in scenario.turns
    ]
    events += [(START + timedelta(days=d, hours=3), 0, "nightly") for d in range(1, last_day + 2)]
    moment = START
    while moment <= end:
        events.append((moment, 2, "reading"))
        moment += READING_EVERY
    events.sort(key=lambda event: (event[0], event[1]))

    turns: list[dict[str, Any]] = []
    nights: list[dict[str, Any]] = []
    readings: list[dict[str, Any]] = []
    for now, _, item in events:
        if isinstance(item, Turn):
            reaction = await service.react(user_id, item.message, now)
            await record_turn(service, user_id, item, reaction.change, now)
            await service.satisfy_needs(user_id, item.message, now)
            turns.append(
                {
                    "at": now.isoformat(),
                    "message": item.message,
                    "appraisal_source": reaction.appraisal.source,
                    "event_cues": [cue.value for cue in reaction.appraisal.cues],
                    "vader_compound": reaction.appraisal.details.get("vader_compound"),
                    "occ_emotions_felt": {e.value: v for e, v in reaction.felt.items()},
                    "pad_delta": _pad(reaction.delta),
                    "pad_before": _pad(reaction.change.before),
                    "pad_after": _pad(reaction.change.after),
                    "label_before": reaction.change.label_before.value,
                    "label_after": reaction.change.state.label.value,
                }
            )
        elif item == "nightly":
            evolution = await service.evolve(user_id, now)
            nights.append(
                {
                    "at": now.isoformat(),
                    "drift_applied": evolution.drift.applied,
                    "interactions_in_7_days": evolution.drift.interactions,
                    "baseline_before": _pad(evolution.drift.before),
                    "baseline_after": _pad(evolution.drift.after),
                    "quirks_mined": evolution.quirks.mined,
                    "quirks_created": evolution.quirks.created,
                    "quirks_reinforced": evolution.quirks.reinforced,
                    "quirk_miner": evolution.quirks.source,
                }
            )
        else:
            state = await service.current(user_id, now)
            readings.append({"at": now.isoformat(), "pad": _pad(state.pad), "label": state.label.value})

    final = await service.current(user_id, end)
    quirks = await service.quirks(user_id)
    needs = await service.needs(user_id, end)
    after = [t["pad_after"] for t in turns]
    labels_after_turns = [t["label_after"] for t in turns]
    summary = {
        "turns": len(turns),
        "max_pleasure_after_a_turn": max(p["pleasure"] for p in after),
        "min_pleasure_after_a_turn": min(p["pleasure"] for p in after),
        "min_dominance_after_a_turn": min(p["dominance"] for p in after),
        "max_arousal_after_a_turn": max(p["arousal"] for p in after),
        "labels_after_turns": sorted(set(labels_after_turns)),
        "most_common_label_after_turns": max(set(labels_after_turns), key=labels_after_turns.count),
        "final_reading_at": end.isoformat(),
        "final_pad": _pad(final.pad),
        "final_label": final.label.value,
        "final_baseline": _pad(final.baseline),
        "baseline_drifts_applied": sum(1 for n in nights if n["drift_applied"]),
        "active_quirks": [q.description for q in quirks],
        "urgent_needs_at_end": [n.need_type.value for n in needs if n.urgent],
    }
    return {
        "description": scenario.description,
        "user_id": user_id,
        "turns": turns,
        "nightly_evolutions": nights,
        "readings_every_3_hours": readings,
        "summary": summary,
    }


def print_scenario(name: str, result: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\n== {name}: {result['description']}", file=out)
    print(f"{'time':<17} {'message':<46} {'P':>6} {'A':>6} {'D':>6}  label", file=out)
    for turn in result["turns"]:
        pad = turn["pad_after"]
        when = turn["at"][5:16].replace("T", " ")
        print(
            f"{when:<17} {turn['message'][:46]:<46} {pad['pleasure']:+.3f} {pad['arousal']:+.3f} "
            f"{pad['dominance']:+.3f}  {turn['label_after']}",
            file=out,
        )
    for night in result["nightly_evolutions"]:
        if night["drift_applied"]:
            base = night["baseline_after"]
            print(
                f"{night['at'][5:16].replace('T', ' '):<17} {'(nightly drift)':<46} {base['pleasure']:+.3f} "
                f"{base['arousal']:+.3f} {base['dominance']:+.3f}  baseline",
                file=out,
            )
    path = " ".join(f"{r['label'][:4]}{r['pad']['pleasure']:+.2f}" for r in result["readings_every_3_hours"])
    print(f"every 3 h (label, P): {path}", file=out)
    s = result["summary"]
    print(
        f"final {s['final_label']} P {s['final_pad']['pleasure']:+.3f}, baseline P "
        f"{s['final_baseline']['pleasure']:+.4f}, quirks {s['active_quirks']}",
        file=out,
    )


def summary_line(results: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, result in results.items():
        s = result["summary"]
        parts.append(
            f"{name} P {s['min_pleasure_after_a_turn']:+.2f}..{s['max_pleasure_after_a_turn']:+.2f} "
            f"D min {s['min_dominance_after_a_turn']:+.2f} mostly {s['most_common_label_after_turns']} "
            f"-> {s['final_label']} (baseline P {s['final_baseline']['pleasure']:+.4f})"
        )
    return "mood trajectories: " + "; ".join(parts)


async def run(database_url: str, settings: PersonalitySettings) -> dict[str, Any]:
    pool = await create_pool(DatabaseSettings(url=SecretStr(database_url), _env_file=None))  # type: ignore[call-arg]
    try:
        users = UsersService(pool, SystemClock())
        service = PersonalityService.create(pool, None, None, settings, DRIFT_RATE, users=users)
        results = {scenario.name: await run_scenario(service, scenario) for scenario in SCENARIOS}
    finally:
        await pool.close()
    return {
        "settings": {
            "profile": PROFILE.value,
            "big_five": PROFILE_TRAITS[PROFILE].as_dict(),
            "pad_half_life_hours": settings.pad_half_life_hours,
            "neutral_radius": settings.neutral_radius,
            "baseline_drift_rate": DRIFT_RATE,
            "appraiser": "local (VADER + event cues)",
            "simulated_start": START.isoformat(),
        },
        "scenarios": results,
    }


@contextmanager
def throwaway_database() -> Iterator[str]:
    """An embedded Postgres in a temporary directory, migrated; removed on exit."""
    from gateway.migrator import migrate
    from scripts.localstack import EmbeddedPostgres, free_port

    home = Path(tempfile.mkdtemp(prefix="companion-moodbench-"))
    postgres = EmbeddedPostgres(home, free_port())
    try:
        postgres.start()
        password = "bench-" + uuid.uuid4().hex
        postgres.ensure_database("companion_moods", "companion_moods", password)
        url = postgres.dsn("companion_moods", "companion_moods", password)
        asyncio.run(migrate(url))
        yield url
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.mood_trajectories", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument(
        "--database-url", default=None, help="a migrated database to use (default: a throw-away one)"
    )
    parser.add_argument(
        "--half-life-hours", type=float, default=None, help="override PERSONALITY_PAD_HALF_LIFE_HOURS"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    overrides: dict[str, Any] = {}
    if args.half_life_hours is not None:
        overrides["pad_half_life_hours"] = args.half_life_hours
    settings = PersonalitySettings(_env_file=None, **overrides)  # type: ignore[call-arg]

    if args.database_url:
        report = asyncio.run(run(args.database_url, settings))
    else:
        with throwaway_database() as url:
            report = asyncio.run(run(url, settings))
    for name, result in report["scenarios"].items():
        print_scenario(name, result)
    line = summary_line(report["scenarios"])
    report["summary_line"] = line
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
