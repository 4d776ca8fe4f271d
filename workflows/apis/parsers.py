"""Parsers that hand a YAML or JSON document to the view unparsed, for the service to parse."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from rest_framework.parsers import BaseParser

from config.errors import PayloadTooLargeError

YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


@dataclass(frozen=True)
class RawDocument:
    """A request body kept as bytes, with the format its content type announced."""

    content: bytes
    fmt: str | None


def yaml_size_check(content: bytes) -> None:
    """413 for a YAML document over `MAX_YAML_BYTES`, before any of it is parsed."""
    if len(content) > settings.MAX_YAML_BYTES:
        raise PayloadTooLargeError(
            f"The YAML document is {len(content)} bytes; the maximum is "
            f"{settings.MAX_YAML_BYTES} bytes (send JSON for larger definitions).",
            details={"max_bytes": settings.MAX_YAML_BYTES})


def _raw(stream, fmt: str | None) -> RawDocument:
    return RawDocument(stream.read() if stream is not None else b"", fmt)


class YamlDocumentParser(BaseParser):
    """`application/yaml` (and its aliases): the document as text."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> RawDocument:
        document = _raw(stream, "yaml")
        yaml_size_check(document.content)
        return document


class YamlAliasParser(YamlDocumentParser):
    media_type = "text/yaml"


class XYamlParser(YamlDocumentParser):
    media_type = "application/x-yaml"


class JsonDocumentParser(BaseParser):
    """`application/json`: the document as text (parsed and validated by the service)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> RawDocument:
        return _raw(stream, "json")


YAML_PARSERS = [YamlDocumentParser, YamlAliasParser, XYamlParser]
