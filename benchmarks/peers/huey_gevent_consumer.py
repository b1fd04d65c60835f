"""``huey_consumer`` for greenlet workers: gevent's monkey-patch first, then Huey's own entry point.

Huey's consumer does not patch by itself and its documentation asks greenlet users to do it in a
launcher like this one. Same arguments as ``huey_consumer``.
"""
from gevent import monkey

monkey.patch_all()

from huey.bin.huey_consumer import consumer_main  # noqa: E402  (must come after patching)

if __name__ == "__main__":
    consumer_main()
