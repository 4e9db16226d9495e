from tests.gateway.proactive.conftest import bot, sim  # noqa: F401  (fixtures)
