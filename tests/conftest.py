# Fixtures every test package may use.
import os

pytest_plugins = ["tests.support.redis", "tests.support.stubs"]

# Gateways started by tests stop at once: the shutdown drain (5 s by default, for load
# balancers to notice) would only slow every teardown. tests/e2e/test_drain.py sets its own.
os.environ.setdefault("GATEWAY_SHUTDOWN_DRAIN_SECONDS", "0")
