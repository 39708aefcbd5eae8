"""Text codes (request ids as integers): equal codes exactly where pandas' factorize sees equal texts."""

import importlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from monitoring_jobs.storage import shared_text_codes, text_codes
from monitoring_jobs.storage.text_codes import MAX_PACKED_BYTES, codes_from_hashes, packed_words, repeated_texts

HOSTILE = ["", "a", "a\x00", "\x00a", "ab", "é", "e\u0301", "x" * 7, "x" * 8, "x" * 9, "y" * 16, "y" * 17,
           "z" * MAX_PACKED_BYTES, "z" * (MAX_PACKED_BYTES - 1), "abcdefgh", "abcdefgh\x00", "<script>", "1", "01",
           None, "😀" * 3]


@pytest.fixture(autouse=True, params=["blocks of 65,536 rows", "blocks of 7 rows"])
def block_rows(request, monkeypatch):
    """Every test with the row-wise steps done in the usual blocks, and in blocks smaller than its data."""
    if request.param == "blocks of 7 rows":
        monkeypatch.setattr(importlib.import_module("monitoring_jobs.storage.text_codes"), "_BLOCK_ROWS", 7)


def _same_partition(codes: np.ndarray, oracle: np.ndarray) -> None:
    """The codes name the same groups as the oracle's (codes need not be equal, nor consecutive), -1 alike."""
    assert codes.dtype == np.int64 and codes.shape == oracle.shape
    assert ((codes < 0) == (oracle < 0)).all()
    pairs = pd.DataFrame({"ours": codes[oracle >= 0], "oracle": oracle[oracle >= 0]}).drop_duplicates()
    assert pairs["ours"].is_unique and pairs["oracle"].is_unique


def _hostile_ids(rows: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    pool = HOSTILE + [f"req-{number}" for number in range(200)]
    return pd.Series([pool[i] for i in rng.integers(0, len(pool), rows)], dtype="str")


def test_codes_match_factorize_on_hostile_text():
    ids = _hostile_ids(5000)
    _same_partition(text_codes(ids), pd.factorize(ids)[0])
    _same_partition(text_codes(ids.astype(object)), pd.factorize(ids)[0])


def test_codes_of_sliced_and_chunked_arrow_text():
    ids = _hostile_ids(3000, seed=1)
    array = pa.array(ids, type=pa.string(), from_pandas=True)
    _same_partition(text_codes(array.slice(17, 900)), pd.factorize(ids.iloc[17:917])[0])
    chunked = pa.chunked_array([array.slice(0, 1000), array.slice(1000)])
    _same_partition(text_codes(chunked), pd.factorize(ids)[0])


@pytest.mark.parametrize("weak_hash", ["zero", "length", "first word"])
def test_colliding_hashes_still_give_exact_codes(weak_hash):
    """Whatever the hashes, a group of texts that are not all equal is split: the codes stay exact."""
    ids = _hostile_ids(4000, seed=2)
    array = pa.array(ids, type=pa.large_string(), from_pandas=True)
    lengths, words = packed_words(array)
    hashes = {"zero": np.zeros(len(array), dtype=np.uint64), "length": lengths.astype(np.uint64),
              "first word": words[0].copy()}[weak_hash]
    _same_partition(codes_from_hashes(array, lengths, words, hashes), pd.factorize(ids)[0])


def test_texts_longer_than_the_packed_limit_are_coded_by_arrow_exactly():
    long_ids = pd.Series(["p" * (MAX_PACKED_BYTES + 1) + str(i % 7) for i in range(300)] + [None], dtype="str")
    assert packed_words(pa.array(long_ids, type=pa.large_string(), from_pandas=True))[1] is None
    _same_partition(text_codes(long_ids), pd.factorize(long_ids)[0])


def test_shared_codes_agree_across_columns():
    left, right = _hostile_ids(2000, seed=3), _hostile_ids(1500, seed=4)
    left_codes, right_codes = shared_text_codes(left, pa.array(right, type=pa.string(), from_pandas=True))
    both = pd.concat([left, right], ignore_index=True)
    _same_partition(np.concatenate([left_codes, right_codes]), pd.factorize(both)[0])


def test_codes_of_nothing_and_of_nulls_only():
    assert text_codes(pd.Series([], dtype="str")).size == 0
    assert (text_codes(pd.Series([None, None], dtype="str")) == -1).all()


def test_non_text_is_refused():
    with pytest.raises(pa.ArrowException):
        text_codes(pd.Series([1, 2, 3]))
    with pytest.raises(pa.ArrowException):
        text_codes(pa.array([1, 2, 3]))


def test_packed_words_are_each_texts_bytes_little_endian_zero_past_its_end():
    array = pa.array(["é", None, "abcdefghi", ""], type=pa.large_string())
    lengths, words = packed_words(array)
    word = lambda raw: int.from_bytes(raw.ljust(8, b"\x00"), "little")  # noqa: E731
    assert lengths.tolist() == [2, 0, 9, 0]
    assert [w.tolist() for w in words] == [[word("é".encode()), 0, word(b"abcdefgh"), 0], [0, 0, word(b"i"), 0]]
    sliced_lengths, sliced_words = packed_words(array.slice(2, 1))
    assert sliced_lengths.tolist() == [9] and [w.tolist() for w in sliced_words] == [[word(b"abcdefgh")], [word(b"i")]]


@pytest.mark.parametrize("ids", ["unique", "unique with nulls", "repeated", "long", "empty"])
def test_repeated_texts_are_the_rows_pandas_marks_duplicated_nulls_aside(ids):
    hostile = _hostile_ids(3000, seed=5)
    values = {"unique": pd.Series([f"req-{i}-é" for i in range(3000)], dtype="str"),
              "unique with nulls": pd.Series([None, *(f"r{i}" for i in range(2000)), None], dtype="str"),
              "repeated": hostile,
              "long": pd.Series(["p" * (MAX_PACKED_BYTES + 1) + str(i % 50) for i in range(300)] + [None], dtype="str"),
              "empty": pd.Series([], dtype="str")}[ids]
    expected = (values.duplicated(keep=False) & values.notna()).to_numpy()
    assert repeated_texts(values).tolist() == expected.tolist()


def test_repeated_texts_stay_exact_when_every_hash_collides(monkeypatch):
    """Equal hashes send the rows to the exact codes: texts that only share a hash are not repeated."""
    module = importlib.import_module("monitoring_jobs.storage.text_codes")  # the package exports a function so named
    monkeypatch.setattr(module, "_hashes", lambda lengths, words: np.zeros(lengths.size, dtype=np.uint64))
    values = pd.Series(["a", "b", "c", "b", None, None], dtype="str")
    assert repeated_texts(values).tolist() == [False, True, False, True, False, False]
    assert not repeated_texts(pd.Series(["a", "b", "c"], dtype="str")).any()
