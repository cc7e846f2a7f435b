"""The loader enforces the features-CSV contract (column order, finite values)."""
import numpy as np
import pytest

from data import FEATURES, HEADER, day_index, day_iso, load_features_csv


def test_loads_synthetic_file(features_csv):
    ds = load_features_csv(features_csv, verbose=False)
    assert ds.X.shape == (len(ds), len(FEATURES))
    assert ds.day.min() == day_index("2018-07-04") and ds.day.max() == day_index("2018-08-14")
    assert set(np.unique(ds.fraud)) == {0, 1}
    assert ds.customer.dtype == np.int64 and ds.customer.min() == 0


def test_day_index_round_trip():
    assert day_index("2018-04-01") == 0
    assert day_index("2018-07-25") == 115  # the handbook's TX_TIME_DAYS of its training start
    assert day_iso(day_index("2018-08-14")) == "2018-08-14"


def test_rejects_reordered_header(tmp_path, features_csv):
    lines = features_csv.read_text().splitlines()
    cols = lines[0].split(",")
    cols[6], cols[7] = cols[7], cols[6]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([",".join(cols)] + lines[1:3]) + "\n")
    with pytest.raises(ValueError, match="header does not match"):
        load_features_csv(bad, verbose=False)


def test_rejects_non_finite_features(tmp_path):
    row = ["tx-1", "1532476800000", "card-1", "term-1", "0", "0"] + ["1"] * len(FEATURES)
    row[6 + 4] = "nan"
    bad = tmp_path / "nan.csv"
    bad.write_text(",".join(HEADER) + "\n" + ",".join(row) + "\n")
    with pytest.raises(ValueError, match="non-finite.*CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"):
        load_features_csv(bad, verbose=False)
