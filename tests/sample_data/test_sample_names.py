"""Fictional names: distinct, stable where they should be, and never more than the lists can make."""

from __future__ import annotations

import numpy as np
import pytest

from sample_data.names import FIRST_NAMES, person_names, place_names


def test_person_names_are_distinct_first_name_and_compound_surname() -> None:
    names = person_names(np.random.default_rng(4), 500)
    assert len(set(names)) == 500
    assert all(n.split(" ")[0] in FIRST_NAMES and n.split(" ")[1][0].isupper() for n in names)


def test_person_names_follow_the_seed() -> None:
    assert person_names(np.random.default_rng(1), 5) == person_names(np.random.default_rng(1), 5)
    assert person_names(np.random.default_rng(1), 5) != person_names(np.random.default_rng(2), 5)


def test_place_names_are_the_same_list_whatever_the_seed() -> None:
    assert place_names(4) == ["Brackenhurst", "Thistledown", "Marrowgate", "Puddingwell"]
    many = place_names(200)
    assert len(set(many)) == 200 and many[:4] == place_names(4)


def test_asking_for_more_names_than_the_lists_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="distinct place names"):
        place_names(10_000)
    with pytest.raises(ValueError, match="distinct worker names"):
        person_names(np.random.default_rng(1), 10**6)
