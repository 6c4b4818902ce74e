"""Tests of the evidence internals (accountability_nlp.explain)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from accountability_nlp.explain import _stable_order


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**17),  # beyond 16 bits: the slow path
            st.sampled_from([-1.5, 0.0, 0.25, 0.25000000000000006, 3.0]),  # ties
            st.integers(0, 5),
        ),
        max_size=60,
    )
)
def test_explain_chained_stable_sorts_equal_lexsort(rows: list[tuple[int, float, int]]) -> None:
    first = np.array([r[0] for r in rows], dtype=np.int64)
    weight = np.array([r[1] for r in rows], dtype=float)
    note = np.array([r[2] for r in rows], dtype=np.int64)
    chained = _stable_order(note, _stable_order(-weight, _stable_order(first)))
    np.testing.assert_array_equal(chained, np.lexsort((first, -weight, note)))
