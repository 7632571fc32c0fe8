"""Obviously fictional names for the sample trust's workers and localities.

Whimsical word lists, combined ("Juniper Quillfeather", "Thistledown"), so that no name in the sample
can be mistaken for a real person or a real place's team.
"""

from __future__ import annotations

import numpy as np

FIRST_NAMES = (
    "Juniper", "Bramble", "Clover", "Fennel", "Marigold", "Tansy", "Wren", "Sorrel", "Bracken", "Pip",
    "Nettle", "Thistle", "Basil", "Hollyhock", "Quince", "Peregrine", "Barnaby", "Ottoline", "Cosmo",
    "Perpetua", "Horatio", "Wilbur", "Araminta", "Bartholomew", "Clementine", "Ignatius", "Leopold",
    "Mirabel", "Octavia", "Percival", "Septimus", "Tabitha", "Ulysses", "Violetta", "Wilhelmina",
    "Zebedee", "Pimpernel", "Periwinkle", "Saffron", "Larkspur", "Foxglove", "Yarrow", "Campion",
    "Teasel", "Burdock", "Mallow", "Primrose", "Snowdrop", "Bluebell", "Aster", "Cobweb", "Mustardseed",
    "Marmaduke", "Philomena", "Crispin", "Drusilla", "Evander", "Fenwick", "Griselda", "Hamish",
)
SURNAME_STARTS = (
    "Quill", "Thistle", "Puddle", "Moss", "Bramble", "Fiddle", "Honey", "Pepper", "Tumble", "Nettle",
    "Copper", "Willow", "Marble", "Button", "Crumble", "Bumble", "Dapple", "Flutter", "Gobble", "Hobble",
    "Jingle", "Kettle", "Lantern", "Muffin", "Nimble", "Pickle", "Ripple", "Sprocket", "Trundle", "Wobble",
)
SURNAME_ENDS = (
    "feather", "wick", "worth", "bottom", "whistle", "bury", "thorn", "pot", "foot", "sprout", "wort",
    "twig", "bell", "dew", "brook", "hollow", "spoon", "sock", "field", "button", "crumb", "tuft",
    "nose", "bun", "paddle", "tumble", "whisker", "wigg", "muddle", "jar",
)
PLACE_STARTS = (
    "Bracken", "Thistle", "Marrow", "Pudding", "Hollow", "Lark", "Bramble", "Cobble", "Dimble", "Fennel",
    "Gorse", "Heather", "Kestrel", "Lumpkin", "Mallow", "Nutmeg", "Pebble", "Rook", "Sorrel", "Tansy",
    "Umber", "Vetch", "Whistle", "Yarrow", "Acorn", "Badger", "Crumpet", "Dormouse", "Elder", "Fiddle",
)
PLACE_ENDS = (
    "hurst", "down", "gate", "well", "mere", "vale", "ford", "combe", "wick", "by", "ton", "ham", "ley",
    "stead", "bridge", "moor", "dale", "field",
)


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """n distinct fictional full names ("Juniper Quillfeather")."""
    surnames = [s + e for s in SURNAME_STARTS for e in SURNAME_ENDS]
    total = len(FIRST_NAMES) * len(surnames)
    if n > total:
        raise ValueError(f"at most {total} distinct worker names; {n} asked for")
    picks = rng.choice(total, size=n, replace=False)
    return [f"{FIRST_NAMES[p // len(surnames)]} {surnames[p % len(surnames)]}" for p in picks]


def place_names(n: int) -> list[str]:
    """n distinct fictional locality names, the same list whatever the seed (stable team names)."""
    pairs = [(i, j) for j in range(len(PLACE_ENDS)) for i in range(len(PLACE_STARTS))]
    if n > len(pairs):
        raise ValueError(f"at most {len(pairs)} distinct place names; {n} asked for")
    # walk the grid diagonally so consecutive names differ in both halves
    order = sorted(pairs, key=lambda p: ((p[0] - p[1]) % len(PLACE_STARTS), p[1]))
    return [PLACE_STARTS[i] + PLACE_ENDS[j] for i, j in order[:n]]
