"""Caches: stored once, read back whole, and rebuilt with one warning when damaged."""

import logging

import numpy as np
import pytest

from nnvisual.runtime import cache


def arrays():
    return {"x": np.arange(12, dtype=np.uint8).reshape(3, 4), "y": np.array([1.5, -2.0])}


class Builder:
    """Counts how often the cached content had to be built."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return arrays()


def test_cache_dir_follows_the_environment(isolated, monkeypatch):
    assert cache.cache_dir() == isolated / "cache"  # set by the isolated fixture
    monkeypatch.delenv("NNVISUAL_CACHE")
    assert cache.cache_dir().parts[-2:] == (".cache", "nnvisual")


def test_built_once_then_read_back(isolated):
    build, path = Builder(), cache.cache_path("kind", "key.npz")
    first = cache.cached_arrays(path, ("x", "y"), build)
    second = cache.cached_arrays(path, ("x", "y"), build)
    assert build.calls == 1 and path == isolated / "cache" / "kind" / "key.npz"
    for got in (first, second):
        np.testing.assert_array_equal(got["x"], arrays()["x"])
        np.testing.assert_array_equal(got["y"], arrays()["y"])


@pytest.mark.parametrize("damage", ["empty", "100 bytes", "half", "garbage", "missing key"])
def test_a_damaged_cache_is_rebuilt_with_one_warning(isolated, caplog, damage):
    build, path = Builder(), cache.cache_path("kind", "key.npz")
    cache.cached_arrays(path, ("x", "y"), build)
    data = path.read_bytes()
    if damage == "missing key":
        np.savez(path, x=arrays()["x"])
    else:
        path.write_bytes({"empty": b"", "100 bytes": data[:100], "half": data[:len(data) // 2],
                          "garbage": b"not a zip file at all" * 10}[damage])
    with caplog.at_level(logging.WARNING, logger="nnvisual.runtime.cache"):
        rebuilt = cache.cached_arrays(path, ("x", "y"), build)
    assert build.calls == 2
    np.testing.assert_array_equal(rebuilt["x"], arrays()["x"])
    (record,) = caplog.records
    assert "discarding the unreadable cache" in record.getMessage() and str(path) in record.getMessage()
    assert "\n" not in record.getMessage()
    if damage == "half":  # numpy says "File is not a zip file"; the likely cause is named
        assert "truncated" in record.getMessage()
    build_again = Builder()
    cache.cached_arrays(path, ("x", "y"), build_again)  # the rebuilt cache is whole again
    assert build_again.calls == 0


def test_a_cache_that_cannot_be_stored_is_skipped(isolated, caplog, monkeypatch):
    path = cache.cache_path("kind", "key.npz")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with caplog.at_level(logging.WARNING, logger="nnvisual.runtime.cache"):
        got = cache.cached_arrays(path, ("x", "y"), Builder())
    np.testing.assert_array_equal(got["y"], arrays()["y"])
    assert "could not store the cache" in caplog.text and "no space left on device" in caplog.text
    assert not path.exists() and list(path.parent.iterdir()) == []  # no temporary left behind
