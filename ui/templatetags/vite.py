"""`{% vite_entry "src/pages/x.tsx" %}`: the script, its preloads and its styles, as the
build's manifest names them (content-hashed files under `static/ui/`)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

MANIFEST = Path(__file__).resolve().parent.parent / "static" / "ui" / ".vite" / "manifest.json"


class MissingBuild(LookupError):
    """The UI's built files are not where the manifest says, or the manifest is missing."""


@lru_cache(maxsize=1)
def _cached_manifest(mtime: float) -> dict:
    return json.loads(MANIFEST.read_text())


def manifest() -> dict:
    """The build's manifest; read again when the file changes (a rebuild during `dev.py up`)."""
    try:
        return _cached_manifest(MANIFEST.stat().st_mtime)
    except FileNotFoundError as missing:
        raise MissingBuild(
            f"{MANIFEST} is missing: run `npm ci && npm run build` in frontend/") from missing


def entry_files(entry: str) -> tuple[str, list[str], list[str]]:
    """The entry's script, the chunks it imports (to preload) and every stylesheet it needs,
    as paths under `static/`."""
    chunks = manifest()
    if entry not in chunks:
        raise MissingBuild(f"{entry} is not an entry of the UI's build")
    imports: list[str] = []
    styles: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        chunk = chunks[key]
        styles.extend(f"ui/{css}" for css in chunk.get("css", []) if f"ui/{css}" not in styles)
        for child in chunk.get("imports", []):
            imports.append(f"ui/{chunks[child]['file']}")
            visit(child)

    visit(entry)
    return f"ui/{chunks[entry]['file']}", list(dict.fromkeys(imports)), styles


@register.simple_tag
def vite_entry(entry: str) -> SafeString:
    script, imports, styles = entry_files(entry)
    if script.endswith(".css"):
        return format_html("<link rel=\"stylesheet\" href=\"{}\">", static(script))
    return format_html(
        "{}{}<script type=\"module\" src=\"{}\"></script>",
        format_html_join("", "<link rel=\"stylesheet\" href=\"{}\">",
                         ((static(css),) for css in styles)),
        format_html_join("", "<link rel=\"modulepreload\" href=\"{}\">",
                         ((static(chunk),) for chunk in imports)),
        static(script),
    )
