"""The API surface as a whole: properties every schema must have."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from datetime import datetime

from pydantic import BaseModel

PACKAGES = ("gateway", "embedding_service", "discord_bot")


def _models() -> set[type[BaseModel]]:
    models: set[type[BaseModel]] = set()
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == info.name:
                    models.add(value)
    return models


def _naive_datetime_in(annotation: object) -> bool:
    if annotation is datetime:
        return True
    return any(_naive_datetime_in(arg) for arg in typing.get_args(annotation))


def test_every_datetime_in_every_schema_is_timezone_aware() -> None:
    """No pydantic model of ours accepts a naive datetime (they were compared with aware ones: a 500)."""
    models = _models()
    assert len(models) > 50
    naive = [
        f"{model.__module__}.{model.__qualname__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if _naive_datetime_in(field.annotation)
    ]
    assert naive == []
