"""Descriptions as Markdown, rendered safely: raw HTML is shown as text, and links may only
use http, https, mailto or relative URLs (markdown-it refuses javascript:, vbscript:, data:)."""

from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


def _validate_link(url: str) -> bool:
    scheme = url.strip().lower().split("/", 1)[0]
    return ":" not in scheme or scheme.startswith(_SAFE_SCHEMES)


_renderer.validateLink = _validate_link


def render(text: str) -> Markup:
    """HTML for a description; the one value the templates mark safe."""
    return Markup(_renderer.render(text or ""))
