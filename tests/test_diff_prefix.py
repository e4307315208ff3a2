"""The common head and tail that ``_opcodes`` takes off two key columns before aligning the
rest: compared block by block, they must be what an item-by-item walk finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette._diff import _common_prefix, _common_suffix


def walked_prefix(ours: list[str], theirs: list[str], limit: int) -> int:
    return next((n for n in range(limit) if ours[n] != theirs[n]), limit)


_columns = st.integers(0, 700).flatmap(
    lambda length: st.tuples(
        st.just(length),
        st.lists(st.integers(0, 700), max_size=4),  # where the live column differs
        st.integers(-3, 3),  # how many more items the live column has
    )
)


@settings(max_examples=300, deadline=None)
@given(shape=_columns, limit_cut=st.integers(0, 5))
def test_blocks_find_the_first_and_last_difference_an_item_walk_finds(
    shape: tuple[int, list[int], int], limit_cut: int
) -> None:
    """Columns of up to 700 items (blocks of 64, 128, 256, ...) with a few changed items and
    a few more or fewer on one side: the common prefix and suffix, within a limit, are the
    ones an item-by-item walk finds."""
    length, changed, extra = shape
    ours = [f"frame {n}" for n in range(length)]
    theirs = [f"frame {n}" for n in range(max(0, length + extra))]  # equal, not the same str
    for position in changed:
        if position < len(theirs):
            theirs[position] = "changed"
    limit = max(0, min(len(ours), len(theirs)) - limit_cut)
    assert _common_prefix(ours, theirs, limit) == walked_prefix(ours, theirs, limit)
    suffix = walked_prefix(ours[::-1], theirs[::-1], limit)
    assert _common_suffix(ours, theirs, limit) == suffix
