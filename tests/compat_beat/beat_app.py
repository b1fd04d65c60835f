"""A small mrqc app with periodic tasks, for the beat tests (imported by workers as tests.compat_beat.beat_app).

Redis and the key prefix come from mrqc's config (``MRQC_REDIS``/``MRQC_REDIS_PREFIX``,
or the test's current runtime); ``BEAT_APP_EVERY`` sets the tick entry's period,
``BEAT_APP_TZ`` the app's ``timezone`` (default UTC).
"""
import os

from mrqc import Celery
from mrqc.schedules import crontab

app = Celery("beat_app")


@app.on_after_configure.connect
def setup_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(float(os.environ.get("BEAT_APP_EVERY", "3600")),
                             sender.signature("tests.compat_beat.beat_app.tick", args=("every",)),
                             name="tick", queue="beat-ticks")


app.conf.update(
    task_default_queue="beat-default",
    timezone=os.environ.get("BEAT_APP_TZ", "UTC"),
    beat_schedule={
        "nightly": {"task": "tests.compat_beat.beat_app.tick", "schedule": crontab(minute=30, hour=2),
                    "args": ("nightly",), "kwargs": {"extra": 1}},
    },
)


@app.task
def tick(label, extra=0):
    from mrqcore.runtime import get_runtime
    runtime = get_runtime()
    runtime.store.client.rpush(runtime.config.redis_prefix + "test:beat-ticks", f"{label}:{extra}")
    return label
