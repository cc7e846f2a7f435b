"""fallback.py: the degraded-answer rules come from the training rows, not from code."""
import numpy as np

import fallback


def test_threshold_is_the_smallest_amount_with_the_precision_over_enough_rows():
    amounts = np.array([100, 200, 300, 300, 400, 500] * 10)
    fraud = np.array([0, 0, 1, 0, 1, 1] * 10)
    # >= 400: all fraud (20 rows); >= 300: 3 of 4 per block; >= 200: 3 of 5; >= 100: 3 of 6.
    assert fallback.threshold(amounts, fraud, 0.95) == 400
    assert fallback.threshold(amounts, fraud, 0.75) == 300
    assert fallback.threshold(amounts, fraud, 0.5) == 100
    # Too few rows at the top: no rule rather than one drawn from a handful.
    assert fallback.threshold(amounts, fraud, 0.95, min_rows=30) is None


def test_policy_block_first_then_review_and_none_when_the_data_has_no_such_amount():
    rng = np.random.default_rng(3)
    amounts = rng.integers(100, 30_000, 5_000)
    fraud = amounts > 22_000
    policy = fallback.fallback_policy(amounts, fraud)
    assert [r["decision"] for r in policy["rules"]] == ["BLOCK", "REVIEW"]
    # BLOCK where >= 95 % of the rows at or above are fraud, REVIEW lower where >= 50 % are; each
    # the smallest such training amount (the next amount down misses it).
    block, review = (r["when"]["value"] for r in policy["rules"])
    assert review < block <= 22_001
    for value, precision in ((block, 0.95), (review, 0.5)):
        assert fraud[amounts >= value].mean() >= precision
        below = amounts[amounts < value].max()
        assert fraud[amounts >= below].mean() < precision
    assert policy["otherwise"] == "ALLOW"
    none = fallback.fallback_policy(amounts, np.zeros_like(fraud))
    assert none["rules"] == []
