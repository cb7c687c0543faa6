"""Shared fixtures."""

import os

import pytest
from hypothesis import settings

# The property tests draw the same examples on every run (CI stays a fixed check, not a lottery that
# fails a commit that did not cause it); DOCFOUNDRY_HYPOTHESIS=explore draws new ones to hunt for bugs.
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile("explore" if os.environ.get("DOCFOUNDRY_HYPOTHESIS") == "explore" else "fixed")


def pytest_configure(config):
    # tests that render a report in headless Chromium (tests/browser.py); they skip only where no Chromium exists
    config.addinivalue_line("markers", "browser: renders HTML in headless Chromium; runs wherever a Chromium is installed")



@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Factory ``tiny_model(family, size="micro", seed=0) -> Path`` of a saved tiny model folder.

    Each model is built once per test session in a shared cache folder (``$DOCFOUNDRY_TEST_CACHE``
    keeps them across sessions; the folder name carries a digest of the builder code, so a change
    rebuilds). Families: idefics3, smolvlm, qwen2vl, qwen25vl, qwen3vl.
    """
    from docfoundry.tiny import cached_tiny

    cache = os.environ.get("DOCFOUNDRY_TEST_CACHE") or tmp_path_factory.mktemp("tiny-models")

    def get(family: str, size: str = "micro", seed: int = 0):
        return cached_tiny(family, size, cache=cache, seed=seed)

    return get
