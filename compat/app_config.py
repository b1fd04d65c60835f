"""Where a ``Celery`` app's settings and task modules come from: ``config_from_object``,
``config_from_envvar`` and ``autodiscover_tasks`` (the ``ConfigSources`` mixin).

``Celery`` (``mrqc.app``) inherits these methods; they are here to keep that
module small. Settings read here go through ``app.conf.update`` (so they are
checked, with did-you-mean hints, by ``mrqc.settings``); discovered modules
are imported by ``app.finalize()`` (or at once with ``force=True``).
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from .exceptions import ImproperlyConfigured
from .settings import looks_like_setting
from .utils import import_object

if TYPE_CHECKING:
    from .settings import Settings


class ConfigSources:
    """Configuration and task-module discovery for ``Celery`` (a mixin: the attributes are the app's)."""

    conf: "Settings"
    namespace: str | None
    finalized: bool
    _autodiscover: list[tuple[Any, str]]
    _imported_modules: list[str]

    def config_from_object(self, obj: Any, silent: bool = False, force: bool = False,
                           namespace: str | None = None) -> None:
        """Read settings from an object, a module, or a ``"module"``/``"module:attr"`` path.

        With ``namespace="CELERY"`` only attributes named ``CELERY_<SETTING>``
        are read (``CELERY_BROKER_URL`` -> ``broker_url``), and an unknown
        ``CELERY_*`` name is an error. Without a namespace, attributes that look
        like settings (known names, ``task_``/``worker_``/``broker_``/...
        prefixes, old upper-case names, near-misses of known names) are read
        and checked; other attributes (imports, helpers) are ignored.
        """
        if isinstance(obj, str):
            try:
                obj = import_object(obj, "config_from_object") if ":" in obj else importlib.import_module(obj)
            except (ImproperlyConfigured, ImportError):
                if silent:
                    return
                raise
        namespace = namespace if namespace is not None else self.namespace
        items = obj.items() if isinstance(obj, dict) else ((k, getattr(obj, k)) for k in dir(obj))
        settings: dict[str, Any] = {}
        if namespace:
            prefix = namespace.rstrip("_") + "_"
            for key, value in items:
                if key.startswith(prefix):
                    bare = key[len(prefix):]
                    try:
                        from .settings import canonical
                        canonical(bare.lower())
                        settings[bare.lower()] = value
                    except ImproperlyConfigured:
                        settings[key] = value  # old names keep their CELERY_ prefix
        else:
            for key, value in items:
                if looks_like_setting(key) and (key.isupper() or not callable(value)):
                    settings[key] = value
        self.conf.update(settings)

    def config_from_envvar(self, variable_name: str, silent: bool = False, force: bool = False) -> bool:
        module = os.environ.get(variable_name)
        if not module:
            if silent:
                return False
            raise ImproperlyConfigured(f"config_from_envvar: environment variable {variable_name!r} is not set")
        self.config_from_object(module, silent=silent, force=force)
        return True


    def autodiscover_tasks(self, packages: Any = None, related_name: str = "tasks", force: bool = False) -> None:
        """Import ``<package>.<related_name>`` for each package (Django: every installed app).

        Lazy as in Celery: done by ``finalize()``/``mrqc worker -A``, or now with ``force=True``.
        """
        self._autodiscover.append((packages, related_name))
        if force or self.finalized:
            self._discover(packages, related_name)

    def _discover(self, packages: Any, related_name: str) -> list[str]:
        if callable(packages):
            packages = packages()
        if packages is None:
            from .shared import django_apps
            packages = django_apps()
        found = []
        for package in packages or ():
            module = f"{package}.{related_name}" if related_name else package
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name in (module, package) or (exc.name and module.startswith(exc.name + ".")):
                    continue
                raise
            found.append(module)
            if module not in self._imported_modules:
                self._imported_modules.append(module)
        return found



__all__ = ["ConfigSources"]
