import os

from hypothesis import HealthCheck, settings

# Profiles chosen by HYPOTHESIS_PROFILE: "dev" (default, quick) or "ci" (thorough).
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
