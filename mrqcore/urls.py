"""Showing connection URLs without their secrets.

``mask_url`` is the one place that decides what of a URL may be printed: every
error message, log line or settings listing that shows a Redis URL passes it
through here (mrqcore and the Celery layer alike), so a password never reaches
a log, a traceback or ``app.conf.humanize()``.
"""
from __future__ import annotations

import re

#: what a hidden secret is shown as (Celery's mask for settings listings)
MASK = "********"

#: a query value whose name holds "pass"/"pwd"/"secret"/"token" (``password=``, ``sentinel_password=``, and
#: misspellings of them, which end up in "unknown parameter" errors)
_QUERY_SECRET = re.compile(r"([?&][^=&#]*(?:pass|pwd|secret|token)[^=&#]*=)[^&#]*", re.IGNORECASE)
#: the ";" between the URLs of kombu's list form (not one inside a password)
_NEXT_URL = re.compile(r";(?=[a-zA-Z][a-zA-Z0-9+.-]*://)")


def mask_url(url: str, mask: str = MASK) -> str:
    """``url`` with the password of its user info and any ``password=`` query value replaced by ``mask``.

    Works on text that does not parse as a URL too (a bad port, a typo in the
    scheme), since that is exactly when it ends up in an error message. Text
    without ``://`` is returned unchanged; the user name is kept, as Celery does.
    Sentinel URLs: ``sentinel_password=`` (any query value named like a secret) is hidden too, and each URL of kombu's
    ``;``-joined list (``sentinel://:pw@h1;sentinel://:pw@h2``) is masked.
    """
    if not isinstance(url, str) or "://" not in url:
        return url
    parts = _NEXT_URL.split(url)
    if len(parts) > 1:
        return ";".join(mask_url(part, mask) for part in parts)
    scheme, _, rest = url.partition("://")
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{mask}@{host}"
    tail = _QUERY_SECRET.sub(lambda m: m.group(1) + mask, tail)
    return f"{scheme}://{netloc}{tail}"
