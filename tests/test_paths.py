"""burstd.paths: the one "is this path inside that root" rule, table-driven with plain values."""

from __future__ import annotations

from pathlib import PurePosixPath as P

import pytest

from burstd.paths import root_of, within


@pytest.mark.parametrize(
    ("path", "root", "inside"),
    [
        ("/a/b", "/a/b", True),  # the root itself
        ("/a/b/", "/a/b", True),  # trailing slashes mean nothing
        ("/a/b", "/a/b/", True),
        ("/a/b/c.jpg", "/a/b", True),
        ("/a/b/c/d/e.jpg", "/a/b", True),
        ("/a/bc", "/a/b", False),  # a sibling sharing a prefix of the name
        ("/a/bc/d.jpg", "/a/b", False),
        ("/a", "/a/b", False),  # the root's parent
        ("/a/b/..x", "/a/b", True),  # a folder whose name starts with two dots is a name like any other
        ("/a/b/..x/c.jpg", "/a/b", True),
        ("/a/b/...", "/a/b", True),
        ("/a/b/..", "/a/b", False),  # `..` is the parent, outside
        ("/a/b/../c", "/a/b", False),
        ("/a/b/../b/c", "/a/b", True),
        ("/a/b/c/../d", "/a/b", True),
        ("/a/b/./c", "/a/b", True),
        ("/a//b///c", "/a/b", True),
        ("/../a/b/c", "/a/b", True),  # `/..` is `/`
        ("/x/b/c", "/a/b", False),
        ("/anything", "/", True),
        ("a/b/c", "a/b", True),  # relative paths compare as written
        ("../a/b", "a/b", False),
        ("a/b", "/a/b", False),  # a relative path is never inside an absolute root
    ],
)
def test_within(path: str, root: str, inside: bool) -> None:
    assert within(P(path), P(root)) is inside


def test_root_of_returns_the_root_as_given() -> None:
    roots = (P("/media/card/"), P("/home/ann/Pictures"), P("/home/ann/Pictures2"))
    assert root_of(P("/home/ann/Pictures2/2026/x.jpg"), roots) is roots[2]
    assert root_of(P("/home/ann/Pictures/..x/x.jpg"), roots) is roots[1]
    assert root_of(P("/media/card"), roots) is roots[0]
    assert root_of(P("/media/cardboard/x.jpg"), roots) is None
    assert root_of(P("/home/ann/Pictures/../x.jpg"), roots) is None
    assert root_of(P("/x"), ()) is None
