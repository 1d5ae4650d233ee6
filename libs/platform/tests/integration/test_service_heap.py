"""A running service leaves its start-up heap out of garbage collections (handing it back when it stops), and
collects its young objects less often."""

import gc
import uuid

from asgi_lifespan import LifespanManager

from studio_platform.service import YOUNG_COLLECTION_EVERY, ServiceDefinition, build_service_app
from studio_platform.settings import ServiceSettings
from studio_platform.uow import UnitOfWork


async def test_what_start_up_built_is_frozen_while_the_service_runs(database, nats_url):
    url, _engine = database
    settings = ServiceSettings(service_name="heap", database_url=url, nats_url=nats_url, log_json=False,
                               durable_prefix=f"t{uuid.uuid4().hex[:8]}-")
    app = build_service_app(ServiceDefinition(name="heap", title="heap", description="", settings=settings,
                                              uow_class=UnitOfWork, run_relay=False))
    gc.unfreeze()
    threshold = gc.get_threshold()
    async with LifespanManager(app):
        frozen = gc.get_freeze_count()
        # The app, built before start-up, is among what start-up froze: no collection looks at it again.
        assert frozen > 10_000
        assert not tracked(app)
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY > threshold[0]
    assert gc.get_freeze_count() == 0
    assert tracked(app)
    assert gc.get_threshold() == threshold


def tracked(thing: object) -> bool:
    """Whether the collector's generations (not its frozen part) hold `thing`."""
    return any(o is thing for o in gc.get_objects())
