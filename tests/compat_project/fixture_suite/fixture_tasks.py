"""Task module named in ``celery_includes`` (imported before the worker starts)."""
from mrqc import shared_task


@shared_task
def shout(word):
    return word.upper() + "!"
