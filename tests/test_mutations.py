"""The mutation strategies themselves: an example must not change what later examples are drawn from."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from mutations import mutated_tree


def test_inserted_values_are_copies_never_the_shared_originals():
    """Regression (CI): a drawn key value was inserted by reference, a later edit of the same example wrote
    into it, so the shared list changed between examples (hypothesis: FlakyStrategyDefinition) and a value
    inserted into itself made a cycle (RecursionError)."""
    originals = [{"a": {"b": [1, 2]}, "c": []}]
    key_values = [{"rate": ["subtotal", "0.062"]}, [1, 5]]
    before = copy.deepcopy((originals, key_values))

    @settings(max_examples=300, database=None, derandomize=True)
    @given(mutated_tree(originals, ["rate", "k"], key_values))
    def draw_many(tree):
        pass

    draw_many()
    assert (originals, key_values) == before
