"""The Rasa project is consistent, follows its test stories, and understands unseen phrasing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chatbot import rasa_setup

INTENT_F1_TARGET = 0.85


def test_the_training_data_and_domain_are_consistent(rasa: Path) -> None:
    # `--fail-on-warnings`: an intent without examples, a response no rule uses or a story that
    # contradicts a rule fails the gate instead of scrolling by.
    rasa_setup.run_rasa(rasa, ["data", "validate", "--fail-on-warnings"])


def test_the_bot_takes_the_action_each_test_story_expects(
    rasa: Path, rasa_model: Path, tmp_path: Path
) -> None:
    rasa_setup.run_rasa(
        rasa,
        [
            "test",
            "core",
            "--model",
            str(rasa_model),
            "--stories",
            "tests/test_stories.yml",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
    )


@pytest.fixture(scope="module")
def held_out_predictions(
    rasa: Path, rasa_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict]:
    """Every held-out example (both languages, one Rasa run) with the intent predicted for it."""
    out = tmp_path_factory.mktemp("nlu")
    rasa_setup.run_rasa(
        rasa,
        [
            "test",
            "nlu",
            "--model",
            str(rasa_model),
            "--nlu",
            "tests/nlu",
            "--successes",
            "--out",
            str(out),
        ],
    )
    predictions: list[dict] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.exists():
            predictions += json.loads(path.read_text())
    return predictions


def held_out_examples(language: str) -> dict[str, str]:
    """The texts of ``tests/nlu/holdout_<language>.yml`` with their intent."""
    data = yaml.safe_load((rasa_setup.PROJECT / "tests" / "nlu" / f"holdout_{language}.yml").read_text())
    return {
        line.removeprefix("- ").strip(): block["intent"]
        for block in data["nlu"]
        for line in block["examples"].splitlines()
        if line.strip()
    }


@pytest.mark.parametrize("language", ["es", "en"])
def test_intents_are_recognised_in_messages_the_model_never_saw(
    held_out_predictions: list[dict], language: str
) -> None:
    examples = held_out_examples(language)
    predicted = {p["text"]: p["intent_prediction"]["name"] for p in held_out_predictions}
    assert set(examples) <= set(predicted), "every held-out example was evaluated"
    truth = [examples[text] for text in examples]
    guess = [predicted[text] for text in examples]
    f1 = weighted_f1(truth, guess)
    assert f1 >= INTENT_F1_TARGET, f"{language}: intent F1 {f1:.3f} on {len(truth)} held-out examples"


def weighted_f1(truth: list[str], guess: list[str]) -> float:
    """Support-weighted F1 over the true intents (what `rasa test nlu` reports as weighted avg)."""
    total = 0.0
    for intent in set(truth):
        tp = sum(1 for t, g in zip(truth, guess, strict=True) if t == g == intent)
        fp = sum(1 for t, g in zip(truth, guess, strict=True) if g == intent and t != intent)
        fn = sum(1 for t, g in zip(truth, guess, strict=True) if t == intent and g != intent)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        total += f1 * truth.count(intent)
    return total / len(truth)
