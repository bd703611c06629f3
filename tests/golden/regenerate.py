"""Rewrite the pinned summaries. Run only when the model changes on purpose, and say so
in the commit: the pin exists to show that optimisations change no result.

    python tests/golden/regenerate.py
"""

from pathlib import Path

from tests.test_pinned import SCENARIOS, summary

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    for name in SCENARIOS:
        summary(name).to_csv(HERE / f"{name}.csv", index=False)
        print(f"wrote {HERE / name}.csv")
