"""Integer codes for text values (request ids, mostly): equal codes exactly where the texts are equal.

The uniqueness check of the day's request ids and the label join (resolving duplicate labels, then matching
labels to rows) come down to telling millions of short strings apart. A hash table over them (Arrow's
``dictionary_encode`` and ``index_in``, ``pd.factorize``) costs about half a microsecond a string at 5M
strings, mostly cache misses. Sorting 64-bit integers is cheaper, so short texts are packed into machine
words straight from Arrow's buffers, hashed, and grouped by sorting the hashes with each row's position in
the low bits; neighbours in a group are then compared word by word, and the rare groups whose texts differ
(hash collisions) are split by Arrow's exact hash table. Longer texts go to Arrow's hash table directly.
Either way a code means exactly one text. (A plain membership test, such as late labels against a day's
ids, stays with Arrow's ``is_in``: one hash table over one side is cheaper than sorting both.)"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_PACKED_BYTES = 40
"""Texts up to this long (a UUID is 36) are packed into words; a column with a longer one uses Arrow's hash table."""
_WORD = 8


def text_codes(values) -> np.ndarray:
    """One integer per distinct text value, -1 for nulls; the codes are not consecutive and not ordered.
    Raises ``pyarrow.ArrowException`` when the values are not all text."""
    return shared_text_codes(values)[0]


def shared_text_codes(*values) -> list[np.ndarray]:
    """``text_codes`` of several columns in one code space: a text has the same code in each of them."""
    arrays = [_large_text(column) for column in values]
    combined = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    codes = _codes(combined)
    return np.split(codes, np.cumsum([len(array) for array in arrays])[:-1])


def repeated_texts(values) -> np.ndarray:
    """Per row, whether its text occurs in another row too (never for nulls). Raises ``pyarrow.ArrowException``
    when the values are not all text.

    The hashes come first: when no two rows' hashes are equal no two texts are, so a day of unique request ids
    (the usual day) costs one sort of 64-bit hashes instead of exact codes (5M ids: 0.3 s against 0.7-2.6 s)."""
    array = _large_text(values)
    lengths, words = packed_words(array)
    if words is None:
        return repeated_codes(_dictionary_codes(array))
    hashes = _hashes(lengths, words)
    ordered = np.sort(hashes[np.asarray(array.is_valid())] if array.null_count else hashes)
    if not (ordered[1:] == ordered[:-1]).any():  # no rows, too, end here
        return np.zeros(len(array), dtype=bool)
    return repeated_codes(codes_from_hashes(array, lengths, words, hashes))


def repeated_codes(codes: np.ndarray) -> np.ndarray:
    """Per row, whether its code (-1: null, never repeated) occurs in another row too."""
    present = codes >= 0
    occurrences = np.bincount(codes[present])
    return present & (occurrences[np.where(present, codes, 0)] > 1)


def _large_text(values) -> pa.LargeStringArray:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise pa.ArrowTypeError(f"expected text, got Arrow type {values.type}")
        array = values.cast(pa.large_string())
    else:
        array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _codes(array: pa.LargeStringArray) -> np.ndarray:
    if len(array) == 0:
        return np.empty(0, dtype=np.int64)
    lengths, words = packed_words(array)
    if words is None:
        return _dictionary_codes(array)
    return codes_from_hashes(array, lengths, words, _hashes(lengths, words))


def _dictionary_codes(array: pa.LargeStringArray) -> np.ndarray:
    """Codes from Arrow's hash table: for texts too long to pack."""
    return np.asarray(pc.dictionary_encode(array).indices.fill_null(-1), dtype=np.int64)


def packed_words(array: pa.LargeStringArray) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Each text's length in bytes, and its bytes as little-endian 8-byte words, zero past its end (word i of
    every text, for each i); no words when a text is longer than ``MAX_PACKED_BYTES``.

    Arrow pads every text with zero bytes to the same whole number of words (``ascii_rpad`` counts bytes, so
    any UTF-8 is padded exactly), after which the data buffer is a rows x words matrix: the words are strided
    views of it. Gathering each word from the unpadded buffer instead took 1.7-2.4 s for 10M ids of two words,
    mostly in fresh memory for its temporaries."""
    _, offsets, _ = array.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[array.offset: array.offset + len(array) + 1]
    lengths = np.diff(bounds)
    count = -(-int(lengths.max(initial=0)) // _WORD)
    if count * _WORD > MAX_PACKED_BYTES:
        return lengths, None
    if count == 0:
        return lengths, []
    padded = pc.ascii_rpad(array.fill_null(""), width=count * _WORD, padding="\0")
    _, padded_offsets, data = padded.buffers()
    start = int(np.frombuffer(padded_offsets, dtype=np.int64)[padded.offset])
    matrix = np.frombuffer(data, dtype="<u8", count=len(array) * count, offset=start).reshape(len(array), count)
    return lengths, [matrix[:, index] for index in range(count)]


def _hashes(lengths: np.ndarray, words: list[np.ndarray]) -> np.ndarray:
    """One 64-bit hash per text, of its length and words, computed a block of rows at a time so that the mixing's
    temporaries stay in the cache instead of taking fresh memory for every row (six arrays of 80 MB for 10M ids
    of two words)."""
    hashed = np.empty(lengths.size, dtype=np.uint64)
    for rows in _blocks(lengths.size):
        block = lengths[rows].astype(np.uint64)
        for word in words:
            block ^= word[rows]
            _mix(block)
        hashed[rows] = block
    return hashed


_BLOCK_ROWS = 1 << 16


def _blocks(size: int) -> Iterator[slice]:
    return (slice(start, start + _BLOCK_ROWS) for start in range(0, size, _BLOCK_ROWS))


def _mix(values: np.ndarray) -> None:
    """splitmix64's finaliser, in place: every input bit reaches the high bits the grouping keeps."""
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= np.uint64(0xBF58476D1CE4E5B9)
        values ^= values >> np.uint64(27)
        values *= np.uint64(0x94D049BB133111EB)
        values ^= values >> np.uint64(31)


def codes_from_hashes(array: pa.LargeStringArray, lengths: np.ndarray, words: list[np.ndarray],
                      hashes: np.ndarray) -> np.ndarray:
    """Rows grouped by hash (one sort of hash-and-position integers), then made exact: neighbours in a group
    are compared word by word, and a group whose texts are not all equal is split by Arrow's hash table.
    Any hashes give exact codes; good ones make the split rare. Row-wise steps go a block at a time (as
    ``_hashes``), so only the arrays kept take fresh memory."""
    size = hashes.size
    position_bits = max(1, (size - 1).bit_length())
    shift, positions = np.uint64(position_bits), np.uint64((1 << position_bits) - 1)
    keyed = np.empty(size, dtype=np.uint64)
    for block in _blocks(size):
        keyed[block] = (hashes[block] >> shift << shift) | np.arange(block.start, min(block.stop, size),
                                                                     dtype=np.uint64)
    keyed.sort()
    rows = np.empty(size, dtype=np.int64)
    np.bitwise_and(keyed, positions, out=rows.view(np.uint64))
    keyed >>= shift
    same_group = keyed[1:] == keyed[:-1]
    del keyed
    differs = np.zeros(size - 1, dtype=bool)
    for block in _blocks(size - 1):  # neighbours i and i + 1 of the block
        neighbours = rows[block.start: block.stop + 1]
        for column in (lengths, *words):
            ordered = column[neighbours]
            differs[block] |= ordered[1:] != ordered[:-1]
    differs &= same_group
    group = np.empty(size, dtype=np.int64)
    group[0] = 0
    np.cumsum(~same_group, out=group[1:])
    if differs.any():  # hash collisions: split those groups by their exact texts
        unused = int(group[-1]) + 1
        mixed = np.zeros(unused, dtype=bool)
        mixed[group[1:][differs]] = True
        inside = mixed[group]
        exact = pc.dictionary_encode(array.take(pa.array(rows[inside])), null_encoding="encode").indices
        group[inside] = unused + np.asarray(exact, dtype=np.int64)
    codes = np.empty(size, dtype=np.int64)
    codes[rows] = group
    if array.null_count:
        codes[~np.asarray(array.is_valid())] = -1
    return codes
