"""`make demo` keeps its store only while the same model, engine and local features made it."""

from myPython.apps.demo import _fresh_store


def test_the_demo_store_is_rebuilt_when_what_made_it_changed(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "meta.json").write_text("{}")
    _fresh_store(store, "model-a auto features-1")  # no stamp yet: an older demo's store, rebuilt
    assert not store.exists()
    store.mkdir()
    _fresh_store(store, "model-a auto features-1")  # the same: kept for resuming
    assert store.is_dir()
    _fresh_store(store, "model-a auto features-2")  # other features: rebuilt
    assert not store.exists()
    assert (tmp_path / "store.made-with").read_text() == "model-a auto features-2\n"
