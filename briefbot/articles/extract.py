"""The main text of a web page, with trafilatura; junk pages are refused, not stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

from briefbot.articles.language import language_code
from briefbot.articles.text import ArticleRejected, minimum_chars

MIN_ARTICLE_CHARS = 400
WALL_PHRASES = re.compile(
    r"subscribe to (continue|read)|to continue reading|already a subscriber|"
    r"sign in to (read|continue)|create a free account|this content is for subscribers|"
    r"we use cookies|accept (all )?cookies|cookie (settings|preferences)|enable javascript",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    title: str
    text: str
    author: str | None
    published: str | None
    language: str | None = None  # as the page declares it (html lang, content-language)


def declared_language(html: bytes | str) -> str | None:
    """The language a page declares: <html lang>, a content-language or og:locale meta tag."""
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None
    candidates = [root.get("lang"), root.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in root.iterfind(".//meta"):
        name = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if name in ("content-language", "og:locale", "language"):
            candidates.append(meta.get("content"))
    return next((language_code(c) for c in candidates if language_code(c)), None)


def extract_article(html: bytes | str, url: str) -> ExtractedArticle:
    """Raises ArticleRejected for pages that are not articles (too short, walls)."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False
    )
    data = document.as_dict() if document is not None and hasattr(document, "as_dict") else {}
    text = (data.get("text") or "").strip()
    title = (data.get("title") or "").strip()
    if text and title and text.split("\n", 1)[0].strip() == title:
        text = text.split("\n", 1)[1].strip() if "\n" in text else ""
    if len(text) < minimum_chars(text, MIN_ARTICLE_CHARS):
        if WALL_PHRASES.search(text):
            raise ArticleRejected("the page looks like a paywall or cookie wall")
        raise ArticleRejected("the page has too little text to be an article")
    if WALL_PHRASES.search(text[:600]) and len(text) < 1_500:
        raise ArticleRejected("the page looks like a paywall or cookie wall")
    return ExtractedArticle(
        title=title or text.split("\n", 1)[0][:120],
        text=text,
        author=(data.get("author") or None),
        published=(data.get("date") or None),
        language=declared_language(html),
    )


def pdf_text(data: bytes) -> str:
    """The text of a PDF's pages (pypdf); raises ArticleRejected for unreadable files."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ArticleRejected(
            "the PDF cannot be read ({error})", error=type(exc).__name__
        ) from None
    return "\n\n".join(page.strip() for page in pages if page.strip())


def plain_text(html: str) -> str:
    """The text of an HTML fragment (a feed entry's content)."""
    import lxml.html

    if not html.strip():
        return ""
    try:
        return str(lxml.html.fromstring(html).text_content()).strip()
    except (ValueError, lxml.etree.ParserError):
        return html.strip()
