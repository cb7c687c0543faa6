"""Seeds derived from a run seed and the parts that name one item: the same in every process.

Python's ``hash`` changes with ``PYTHONHASHSEED`` and ``random.Random(str)`` hashes with it in some
versions; blake2b of ``"seed:part:part"`` does neither.

    rng = random.Random(derive(cfg.seed, sample_id, "instruct"))
"""

from __future__ import annotations

import hashlib


def derive(seed: int, *parts: object, bits: int = 63) -> int:
    """A ``bits``-bit integer from blake2b of ``"seed:part1:part2..."`` (64 bits: the whole 8-byte digest)."""
    size = (bits + 7) // 8
    digest = hashlib.blake2b(":".join(map(str, (seed, *parts))).encode(), digest_size=size).digest()
    return int.from_bytes(digest, "big") >> (size * 8 - bits)


def unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) from the same digest (a stable coin for shares such as a held-out split)."""
    return derive(seed, *parts, bits=64) / 2**64
