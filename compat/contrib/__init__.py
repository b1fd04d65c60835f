"""``mrqc.contrib``: helpers mirroring ``celery.contrib`` (``pytest`` fixtures, the ``testing`` worker)."""
