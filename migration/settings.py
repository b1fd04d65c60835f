"""Celery settings modules: which module-level names are settings, and their new names.

Styles of a settings module (chosen per file by ``migration.runner``):

=============  ===============================================================  ==========================
style          the module                                                       deprecated names become
=============  ===============================================================  ==========================
``plain``      a ``celeryconfig`` module (``config_from_object("proj.x")``)    new lower-case names
``namespace``  Django settings read with ``namespace="CELERY"``                 ``CELERY_`` + new name
``django``     Django settings read without a namespace                        kept (compat reads them)
``lower``      ``app.conf.update(...)`` keywords, ``app.conf.X = ...``          new lower-case names
=============  ===============================================================  ==========================

The renames are compat's own table (``mrqc.settings.OLD_NAMES``), the one
``celery upgrade settings`` follows; the checks are compat's ``canonical`` and
``validate`` (see ``targets.setting_problem``).
"""
from __future__ import annotations

from mrqc.exceptions import ImproperlyConfigured
from mrqc.settings import OLD_NAMES, canonical, looks_like_setting


def _is_new(bare: str) -> bool:
    try:
        return canonical(bare.lower()) == bare.lower() and bare.lower() not in OLD_NAMES
    except ImproperlyConfigured:
        return False


def setting_name(name: str, style: str) -> str | None:
    """The Celery setting a module-level ``name`` stands for in this style (to check), or None if none."""
    if style == "namespace":
        if name.startswith("CELERY_") and _is_new(name[len("CELERY_"):]):
            return name[len("CELERY_"):].lower()
        if name in OLD_NAMES or name.startswith(("CELERY_", "CELERYD_", "CELERYBEAT_")):
            return name
        return None
    if style in ("plain", "django", "lower"):
        if style == "django" and not name.isupper():
            return None
        return name if looks_like_setting(name) else None
    return None


def new_name(name: str, style: str) -> str | None:
    """The name a deprecated setting gets in this style, or None to keep ``name``."""
    if name not in OLD_NAMES:
        return None
    new = OLD_NAMES[name]
    if style in ("plain", "lower"):
        return new
    if style == "namespace":
        if name.startswith("CELERY_") and _is_new(name[len("CELERY_"):]):
            return None
        return "CELERY_" + new.upper()
    return None
