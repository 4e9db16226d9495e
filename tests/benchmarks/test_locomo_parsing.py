"""The LoCoMo benchmark's parsing and metrics on a tiny synthetic file in the LoCoMo layout, and a smoke run
of the whole benchmark (real stack) on that file. The real data set is never read here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bm25 import BM25, tokenize
from benchmarks.locomo import (
    Miss,
    Outcome,
    Question,
    chat_typed,
    cross_validate,
    hit_at,
    load_locomo,
    lowercased,
    main,
    parse_session_date,
    parse_sweep,
    recall_at,
    summarize,
    turn_content,
    valid_evidence,
    write_misses,
)


def tiny_locomo() -> list[dict[str, Any]]:
    """Two conversations in the LoCoMo layout, with the data set's quirks: a date key without a session,
    sessions whose keys sort wrongly as text, an image turn, and empty or malformed evidence."""
    ana = {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a beagle puppy called Biscuit!"},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "Congrats! What does Biscuit eat?"},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "Mostly kibble and carrots."},
        ],
        "session_2_date_time": "10:04 am on 19 June, 2023",
        "session_2": [
            {"speaker": "Ben", "dia_id": "D2:1", "text": "I started pottery classes downtown."},
            {
                "speaker": "Ana",
                "dia_id": "D2:2",
                "text": "Look at this!",
                "img_url": ["https://example.invalid/x.jpg"],
                "blip_caption": "a photo of a dog sleeping on a red couch",
            },
        ],
        "session_10_date_time": "9:00 pm on 2 August, 2023",
        "session_10": [
            {"speaker": "Ben", "dia_id": "D10:1", "text": "My pottery teacher says my bowls are improving."},
            {"speaker": "Ana", "dia_id": "D10:2", "text": "Biscuit chewed my new running shoes."},
        ],
        "session_11_date_time": "9:00 pm on 9 August, 2023",  # a date without turns, as in conv-26
    }
    cleo = {
        "speaker_a": "Cleo",
        "speaker_b": "Dev",
        "session_1_date_time": "8:15 am on 1 January, 2024",
        "session_1": [
            {
                "speaker": "Cleo",
                "dia_id": "D1:1",
                "text": "I am training for the Berlin marathon in September.",
            },
            {"speaker": "Dev", "dia_id": "D1:2", "text": "I just moved to Lisbon for a new job."},
        ],
    }
    return [
        {
            "sample_id": "conv-a",
            "conversation": ana,
            "qa": [
                {
                    "question": "What is the name of Ana's dog?",
                    "answer": "Biscuit",
                    "evidence": ["D1:1"],
                    "category": 4,
                },
                {
                    "question": "What does Biscuit eat?",
                    "answer": "kibble",
                    "evidence": ["D1:3", "D1:3"],
                    "category": 4,
                },
                {
                    "question": "When did Ben start pottery?",
                    "answer": "June 2023",
                    "evidence": ["D2:1"],
                    "category": 2,
                },
                {
                    "question": "What did Biscuit do?",
                    "answer": "slept; chewed shoes",
                    "evidence": ["D2:2", "D10:2"],
                    "category": 1,
                },
                {
                    "question": "What did Ben say about kites?",
                    "adversarial_answer": "nothing",
                    "evidence": ["D10:1"],
                    "category": 5,
                },
                {"question": "Empty evidence?", "answer": "x", "evidence": [], "category": 3},
                {"question": "Joined ids?", "answer": "x", "evidence": ["D1:1; D1:2"], "category": 1},
                {"question": "Unknown id?", "answer": "x", "evidence": ["D1:1", "D7:7"], "category": 4},
                {"question": "Bare D?", "answer": "x", "evidence": ["D"], "category": 4},
            ],
        },
        {
            "sample_id": "conv-b",
            "conversation": cleo,
            "qa": [
                {
                    "question": "Which marathon is Cleo training for?",
                    "answer": "Berlin",
                    "evidence": ["D1:1"],
                    "category": 4,
                },
                {
                    "question": "Where would Dev likely live next year?",
                    "answer": "Lisbon",
                    "evidence": ["D1:2"],
                    "category": 3,
                },
            ],
        },
    ]


@pytest.fixture
def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_locomo.json"
    path.write_text(json.dumps(tiny_locomo()))
    return path


def test_session_dates_parse_to_utc() -> None:
    assert parse_session_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_session_date("12:09 am on 13 September, 2023") == datetime(2023, 9, 13, 0, 9, tzinfo=UTC)
    assert parse_session_date("10:04 am on 19 June,  2023") == datetime(2023, 6, 19, 10, 4, tzinfo=UTC)


def test_turn_content_names_the_speaker_and_describes_photos() -> None:
    assert turn_content({"speaker": "Ana", "text": " Hi! "}) == "Ana: Hi!"
    photo = {"speaker": "Ana", "text": "Look!", "blip_caption": "a photo of a dog on a couch"}
    assert turn_content(photo) == "Ana: Look! [shares a photo of a dog on a couch]"
    odd = {"speaker": "Ana", "text": "Look!", "blip_caption": "a photography of a sign"}
    assert turn_content(odd) == "Ana: Look! [shares a photo of a sign]"


def test_evidence_must_be_well_formed_and_known() -> None:
    known = {"D1:1", "D1:2", "D10:3"}
    assert valid_evidence(["D1:1", "D10:3", "D1:1"], known) == ("D1:1", "D10:3")
    assert valid_evidence([], known) is None
    assert valid_evidence(None, known) is None
    assert valid_evidence(["D1:1; D1:2"], known) is None
    assert valid_evidence(["D1:1 D1:2"], known) is None
    assert valid_evidence(["D"], known) is None
    assert valid_evidence(["D:1:2"], known) is None
    assert valid_evidence(["D1:1", "D9:9"], known) is None


def test_load_keeps_time_order_and_skips_bad_questions(locomo_file: Path) -> None:
    ana, cleo = load_locomo(locomo_file)
    assert ana.sample_id == "conv-a"
    assert [s.key for s in ana.sessions] == [
        "session_1",
        "session_2",
        "session_10",
    ]  # numeric, not text order
    assert [t.dia_id for t in ana.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D10:1", "D10:2"]
    assert ana.turns[4].content == "Ana: Look at this! [shares a photo of a dog sleeping on a red couch]"
    # "now" is the last session that has turns, plus a day (session_11 has a date but no turns).
    assert ana.now == datetime(2023, 8, 3, 21, 0, tzinfo=UTC)
    assert len(ana.questions) == 5 and len(ana.skipped) == 4
    assert ana.questions[1].evidence == ("D1:3",)
    assert ana.questions[4].category == 5 and ana.questions[4].answer == "nothing"
    assert {s["question"] for s in ana.skipped} == {
        "Empty evidence?",
        "Joined ids?",
        "Unknown id?",
        "Bare D?",
    }
    assert len(cleo.questions) == 2 and not cleo.skipped


def test_lowercased_questions_leave_the_turns_and_the_evidence_as_written(locomo_file: Path) -> None:
    ana, cleo = load_locomo(locomo_file)
    [low_ana, low_cleo] = lowercased([ana, cleo])
    assert [q.question for q in low_ana.questions] == [q.question.lower() for q in ana.questions]
    assert any(q.question != q.question.lower() for q in ana.questions)  # the file has capitals to lose
    assert [(q.evidence, q.category, q.answer) for q in low_ana.questions] == [
        (q.evidence, q.category, q.answer) for q in ana.questions
    ]
    assert low_ana.turns == ana.turns and low_ana.now == ana.now and low_ana.skipped == ana.skipped
    assert len(low_cleo.questions) == len(cleo.questions)


def test_chat_typing_lowers_the_turns_and_misspells_a_share_of_their_words(locomo_file: Path) -> None:
    conversations = load_locomo(locomo_file)
    clean = [turn.content for c in chat_typed(conversations, 0.0) for turn in c.turns]
    original = [turn.content for c in conversations for turn in c.turns]
    assert clean[0] == "Ana: i adopted a beagle puppy called biscuit!"  # the speaker stays as written
    assert all(
        typed.split(": ", 1)[1] == text.split(": ", 1)[1].lower().replace("'", "")
        for typed, text in zip(clean, original, strict=True)
    )
    every = [turn.content for c in chat_typed(conversations, 1.0) for turn in c.turns]
    pairs = [
        (before, after)
        for plain, typed in zip(clean, every, strict=True)
        for before, after in zip(plain.split(), typed.split(), strict=True)
        if re.fullmatch(r"[a-z]{4,}\W*", before)
    ]
    unchanged = [before for before, after in pairs if before == after]
    assert pairs and len(unchanged) <= 0.1 * len(pairs)  # a typo in each (a swap of equal letters shows none)
    assert all(abs(len(before) - len(after)) <= 1 for before, after in pairs)
    assert every == [turn.content for c in chat_typed(conversations, 1.0) for turn in c.turns]  # seeded
    assert [q.question for c in chat_typed(conversations, 1.0) for q in c.questions] == [
        q.question for c in conversations for q in c.questions
    ]


def test_recall_and_hit_at_k() -> None:
    ranked = ["D1:1", "D2:2", "D3:3", "D4:4"]
    assert recall_at(("D2:2", "D4:4"), ranked, 2) == 0.5
    assert recall_at(("D2:2", "D4:4"), ranked, 4) == 1.0
    assert hit_at(("D2:2", "D4:4"), ranked, 1) == 0.0
    assert hit_at(("D2:2", "D4:4"), ranked, 2) == 1.0
    assert recall_at(("D9:9",), [], 10) == 0.0


def test_summary_averages_categories_unweighted_and_by_question() -> None:
    outcomes = [
        Outcome(1, ("a", "b"), ("a", "x")),  # multi-hop: recall@1 .5
        Outcome(4, ("c",), ("c",)),  # single-hop: three perfect questions
        Outcome(4, ("c",), ("c",)),
        Outcome(4, ("c",), ("c",)),
        Outcome(5, ("d",), ("x",)),  # adversarial: reported apart, never in the headline
    ]
    summary = summarize(outcomes, [1])
    assert summary["recall@1"] == pytest.approx((0.5 + 1.0) / 2)
    assert summary["hit@1"] == 1.0
    assert summary["question_weighted"] == {"questions": 4, "recall@1": pytest.approx(3.5 / 4), "hit@1": 1.0}
    assert summary["all_categories_question_weighted"]["questions"] == 5
    assert summary["all_categories_question_weighted"]["recall@1"] == pytest.approx(3.5 / 5)
    assert summary["by_category"]["1"] == {"name": "multi-hop", "questions": 1, "recall@1": 0.5, "hit@1": 1.0}
    assert summary["by_category"]["5"]["recall@1"] == 0.0
    assert set(summary["by_category"]) == {"1", "4", "5"}


def test_bm25_prefers_rare_terms_and_ignores_non_matches() -> None:
    docs = ["ana likes dogs", "ana likes cats", "ana went to berlin", "nothing here at all"]
    index = BM25(docs)
    assert tokenize("Ana's DOG, isn't it?") == ["ana's", "dog", "isn't", "it"]
    assert index.top("berlin ana", 10)[0] == 2
    assert index.top("cats", 10) == [1]
    assert index.top("zebra", 10) == []
    assert index.idf["berlin"] > index.idf["ana"]


def test_dump_misses_samples_by_category(tmp_path: Path) -> None:
    def miss(category: int) -> Miss:
        return Miss("conv-a", Question("q?", "a", ("D1:1",), category), top=[], evidence=[])

    path = tmp_path / "misses.json"
    written = write_misses(path, [miss(1), miss(1), miss(1), miss(4)], sample=2)
    payload = json.loads(path.read_text())
    assert written == 2 == len(payload["sample"])
    assert payload["missed_total"] == 4
    assert payload["missed_by_category"] == {"1": 3, "4": 1}
    assert sorted(m["category"] for m in payload["sample"]) == [1, 4]


@pytest.mark.slow
def test_benchmark_runs_end_to_end_on_a_tiny_file(
    locomo_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole command on the tiny file: real Postgres, Redis, embedding service and memory service."""
    out, misses = tmp_path / "report.json", tmp_path / "misses.json"
    args = ["--data", str(locomo_file), "--k", "1", "3", "--json", str(out), "--dump-misses", str(misses)]
    assert main([*args, "--sweep", "time_weight=0,2", "--folds", "2"]) == 0
    report = json.loads(out.read_text())
    assert report["questions_evaluated"] == 7
    assert report["questions_skipped"] == 4
    assert report["turns_ingested"] == 9
    assert report["index"] == "pgvector"
    assert report["questions_typed"] == "as written"
    for key in ("recall@1", "recall@3", "hit@1", "hit@3", "search_p50_ms", "search_p95_ms", "ingest_seconds"):
        assert report[key] is not None
    assert set(report["baselines"]) == {"cosine", "bm25"}
    assert report["baselines"]["cosine"]["by_category"]["4"]["questions"] == 3
    # With at most 7 turns per user, the top 3 of an easy question holds its one evidence turn.
    assert report["by_category"]["4"]["hit@3"] >= 2 / 3
    assert json.loads(misses.read_text())["missed_total"] >= 0
    # Every turn is in a pool of 30: a perfect reordering holds all the evidence it has room for.
    ceiling = report["reorder_ceiling"]["by_pool_size"]
    assert set(ceiling) == {"30", "60", "100"}
    assert ceiling["30"]["by_category"]["4"]["recall@3"] == 1.0
    assert ceiling["30"]["recall@3"] >= report["recall@3"]
    sweep = report["sweep"]
    assert sweep["setting"] == "time_weight" and set(sweep["by_value"]) == {"0.0", "2.0"}
    held = sweep["cross_validation_by_conversation"]
    assert len(held["folds"]) == 2
    assert held["question_weighted"]["questions"] == report["question_weighted"]["questions"]
    assert capsys.readouterr().out.startswith("LoCoMo recall@3")


def test_cross_validation_chooses_each_folds_value_on_the_other_conversations() -> None:
    """Value 1.0 is best on conversations a-c, value 0.0 only on d: the fold holding d out still chooses 1.0
    (chosen on a-c), so d's held-out figure is 1.0's, worse than the best d could have had."""

    def asked(conversation: str, found: bool) -> Outcome:
        return Outcome(4, ("x",), ("x",) if found else ("y",), conversation)

    by_value = {
        0.0: [asked(c, c == "d") for c in "abcd"],
        1.0: [asked(c, c != "d") for c in "abcd"],
    }
    held = cross_validate(by_value, [10], folds=4)
    assert [fold["chosen"] for fold in held["folds"]] == [1.0, 1.0, 1.0, 1.0]
    assert held["recall@10"] == 0.75


def test_a_sweep_names_a_memory_setting_and_its_values() -> None:
    import argparse

    assert parse_sweep("time_weight=0,0.5,2") == ("time_weight", (0.0, 0.5, 2.0))
    assert parse_sweep("candidates=60,100") == ("candidates", (60, 100))
    for bad in ("no_such=1,2", "time_weight=", "time_weight=a,b"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_sweep(bad)
