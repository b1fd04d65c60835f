"""``pydantic=True`` tasks: arguments validated into pydantic models, model results dumped (as Celery 5.5+).

``@app.task(pydantic=True)`` wraps the task's function: each argument whose
annotation is a pydantic ``BaseModel`` subclass is validated from what the
message carried (a dict) with ``Model.model_validate(value, strict=pydantic_strict,
context=pydantic_context)``; a ``BaseModel`` result is returned as
``result.model_dump(**pydantic_dump_kwargs)`` so it stores as JSON. String
annotations (``from __future__ import annotations``) are resolved first.
A model instance given as a call argument is sent as its JSON dict
(``dump_models``). pydantic itself is imported only when such a task is declared; a missing
pydantic is an ``ImproperlyConfigured`` naming the task.
"""
from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable

from .exceptions import ImproperlyConfigured

__all__ = ["pydantic_wrapper", "dump_models"]


def pydantic_wrapper(fun: Callable[..., Any], task_name: str, strict: bool = False, context: Any = None,
                     dump_kwargs: dict[str, Any] | None = None) -> Callable[..., Any]:
    """``fun`` with its BaseModel-annotated arguments validated and a BaseModel result dumped."""
    try:
        from pydantic import BaseModel
    except ImportError as exc:
        raise ImproperlyConfigured(f"task {task_name!r} has pydantic=True but pydantic is not installed "
                                   "(pip install pydantic)") from exc
    signature = inspect.signature(fun)
    try:
        hints = typing.get_type_hints(fun)
    except Exception:  # an annotation that does not resolve here: take the plain ones
        hints = {k: v for k, v in getattr(fun, "__annotations__", {}).items() if not isinstance(v, str)}
    models = {name: hint for name, hint in hints.items()
              if name != "return" and isinstance(hint, type) and issubclass(hint, BaseModel)}
    dump = dict(dump_kwargs or {})

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        for name, model in models.items():
            if name in bound.arguments and not isinstance(bound.arguments[name], model):
                bound.arguments[name] = model.model_validate(bound.arguments[name], strict=strict, context=context)
        result = fun(*bound.args, **bound.kwargs)
        if isinstance(result, BaseModel):
            return result.model_dump(**dump)
        return result

    return wrapper


def dump_models(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """A pydantic task's call arguments with each model instance as its JSON dict (what the message carries)."""
    from pydantic import BaseModel

    def dump(value: Any) -> Any:
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value

    return [dump(a) for a in args], {k: dump(v) for k, v in kwargs.items()}
