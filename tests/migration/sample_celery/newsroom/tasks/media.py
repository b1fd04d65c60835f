"""Image work, routed to the ``media`` queue (see CELERY_TASK_ROUTES)."""
import time

import celery
import celery.exceptions

from newsroom import effects
from newsroom.celery import app


@celery.shared_task(bind=True)
def resize(self, image, width):
    return f"{image}@{width}w"


def thumbnails(image, widths):
    return celery.group(resize.s(image, width) for width in widths)


@celery.shared_task(soft_time_limit=1)
def transcode(video):
    """Gives up cleanly when the soft time limit strikes."""
    try:
        for _ in range(60):
            time.sleep(0.5)
    except celery.exceptions.SoftTimeLimitExceeded:
        return f"{video}: partial"
    return f"{video}: done"


class WatermarkTask(celery.Task):
    """Class-based task with a success hook."""

    name = "newsroom.tasks.media.watermark"

    def run(self, image):
        return f"{image}+wm"

    def on_success(self, retval, task_id, args, kwargs):
        effects.record("watermarked", retval)


watermark = app.register_task(WatermarkTask())
