"""OPML, the file feed readers exchange their subscriptions in: read one, write one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from briefbot.articles.feeds import Feed
from briefbot.articles.text import ArticleRejected, Refusal, clean_url

OPML_SUFFIXES = (".opml", ".xml")
MAX_OPML_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class OpmlFeeds:
    urls: list[str]  # each feed's address once, in the file's order
    invalid: int  # outlines whose xmlUrl is not a web link


@dataclass
class ImportCounts:
    """What became of an OPML file's feeds."""

    listed: int = 0
    added: int = 0
    followed_already: int = 0
    refused: list[tuple[str, Refusal]] = field(default_factory=list)
    left_out: int = 0  # beyond the number taken from one file
    invalid: int = 0  # outlines whose address is not a web link


def read_opml(data: bytes) -> OpmlFeeds:
    """The feeds of an OPML file (outlines with an xmlUrl, at any depth); raises
    ArticleRejected for a file that is not OPML. Entities and network access are off."""
    if len(data) > MAX_OPML_BYTES:
        raise ArticleRejected("the OPML file is larger than {megabytes} MB", megabytes=2)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        raise ArticleRejected("that file is not valid OPML (it cannot be read as XML)") from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise ArticleRejected("that file is not OPML (its root element is not “opml”)")
    urls: dict[str, None] = {}
    invalid = 0
    for outline in root.iter("{*}outline", "outline"):
        address = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not address:
            continue
        url = clean_url(address)
        if url:
            urls[url] = None
        else:
            invalid += 1
    return OpmlFeeds(list(urls), invalid)


def write_opml(feeds: Sequence[Feed], title: str = "Briefbot feeds") -> bytes:
    """The feeds as an OPML 2.0 file."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    created = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    etree.SubElement(head, "dateCreated").text = created
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name = feed.title or feed.url
        etree.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
