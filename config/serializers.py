"""The base of every request body's serializer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """A request body's serializer that refuses fields it does not know.

    DRF drops unknown keys silently, so a misspelt or unsupported field (`PATCH
    {"description": ...}` where description lives in the definition) would answer 200 and
    change nothing; here it is a 400 naming each such field and the ones accepted.
    """

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            writable = [name for name, field in self.fields.items() if not field.read_only]
            accepted = ", ".join(writable) or "no fields"
            unknown = {
                str(key): [f"Unknown field; this endpoint accepts {accepted}."]
                for key in data if key not in writable
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
