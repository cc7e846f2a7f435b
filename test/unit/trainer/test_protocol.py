"""Splits and metrics follow the handbook's implementation."""
import numpy as np

from data import Dataset, load_features_csv
from protocol import Split, card_precision_at_k, evaluate, split_masks


def handbook_test_rows(ds: Dataset, split: Split) -> np.ndarray:
    """Direct transcription of the handbook's get_train_test_set loop (sets, day by day)."""
    a, b = split.train_days
    train = (ds.day >= a) & (ds.day <= b)
    known = set(ds.customer[train & (ds.fraud == 1)])
    keep = np.zeros(len(ds), dtype=bool)
    for k in range(split.delta_test):
        test_day = a + split.delta_train + split.delta_delay + k
        delay_day = a + split.delta_train + k - 1
        known |= set(ds.customer[(ds.day == delay_day) & (ds.fraud == 1)])
        rows = ds.day == test_day
        keep |= rows & ~np.isin(ds.customer, list(known))
    return keep


def test_known_compromised_cards_removed_like_handbook(features_csv):
    ds = load_features_csv(features_csv, verbose=False)
    for start in ("2018-07-11", "2018-07-25"):
        split = Split.from_iso("s", start)
        train, test = split_masks(ds, split)
        assert train.sum() == ((ds.day >= split.train_days[0]) & (ds.day <= split.train_days[1])).sum()
        expected = handbook_test_rows(ds, split)
        assert expected.sum() > 0
        np.testing.assert_array_equal(test, expected)
        # and the rule did remove someone, so the test is not vacuous
        all_test_days = (ds.day >= split.test_days[0]) & (ds.day <= split.test_days[1])
        assert test.sum() < all_test_days.sum()


def test_split_dates():
    s = Split.from_iso("hb", "2018-07-25")
    assert s.describe() == {"train": ["2018-07-25", "2018-07-31"], "delay_days": 7, "test": ["2018-08-08", "2018-08-14"]}


def test_card_precision_at_k_by_hand():
    # day 0: cards 1 (fraud), 2, 3; card 1 has two rows, max score counts.
    # day 1: cards 1 (fraud again), 4 (fraud), 5.
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.95, 0.6, 0.5])
    fraud = np.array([0, 1, 0, 0, 1, 1, 0])
    customer = np.array([1, 1, 2, 3, 1, 4, 5])
    day = np.array([0, 0, 0, 0, 1, 1, 1])
    # top 2: day 0 -> {1 (0.9, fraud), 2} = 1/2; day 1 -> {1, 4} = 2/2
    assert card_precision_at_k(scores, fraud, customer, day, k=2) == 0.75
    # handbook variant drops card 1 on day 1 (found on day 0): top 2 = {4, 5} = 1/2
    assert card_precision_at_k(scores, fraud, customer, day, k=2, drop_previous_day_detected=True) == 0.5
    # fewer cards than k still divide by k, as the handbook does
    assert card_precision_at_k(scores, fraud, customer, day, k=4) == (1 / 4 + 2 / 4) / 2


def test_evaluate_perfect_scores(features_csv):
    ds = load_features_csv(features_csv, verbose=False)
    m = evaluate(ds.fraud.astype(float), ds)
    assert m["auc_roc"] == 1.0 and m["average_precision"] == 1.0
    assert m["rows"] == len(ds) and m["frauds"] == int(ds.fraud.sum())
