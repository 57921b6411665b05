"""flask-admin's ``expose`` with a type (the package ships without type information)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask_admin import expose as _flask_admin_expose

View = TypeVar("View", bound=Callable[..., Any])


def expose(url: str = "/", methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Route ``url`` (relative to the view) to the decorated method."""
    return cast(Callable[[View], View], _flask_admin_expose(url, methods))
