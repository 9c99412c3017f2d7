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


@pytest.fixture(scope="session", autouse=True)
def smoke_blas_threads(benchmarking):
    """Smoke runs (plain ``pytest``) check the machinery, not the speed: they use one
    BLAS thread, because multi-threaded OpenBLAS on a busy 2-core machine can stall
    for whole scheduler time slices on every call. ``make bench`` leaves BLAS alone."""
    if benchmarking:
        yield
        return
    import scipy.linalg  # noqa: F401 - loads SciPy's BLAS (Numba's np.dot), so it is limited too
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
