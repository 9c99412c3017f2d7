import pytest


@pytest.fixture(scope="session")
def benchmarking(request):
    """True under ``--benchmark-enable`` (make bench), False in smoke mode (plain pytest),
    for the tests that measure without the ``benchmark`` fixture."""
    session = getattr(request.config, "_benchmarksession", None)
    if session is not None:
        return not session.disabled
    opt = request.config.getoption
    return not opt("benchmark_disable") or opt("benchmark_enable")
