"""Fetching a web page or a feed: time and size limits, no private addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from briefbot.articles.text import Refusal

USER_AGENT = "Briefbot/0.1 (+https://github.com/briefbot)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
    "application/rdf+xml",
    "application/feed+json",
)


class FetchError(Refusal):
    """The page could not be fetched; the message is safe to show to the admin."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False


@dataclass(frozen=True, slots=True)
class FetchedPage:
    url: str
    body: bytes
    encoding: str | None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise FetchError("that is not a valid web link") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("that is not a web link (http or https)")
    return url.strip()


async def resolve_host(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (a seam for tests)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global


async def _checked_address(host: str, port: int, limits: FetchLimits) -> str:
    """Resolve once and refuse hosts with any loopback, private, link-local or other
    non-public address; the address returned is the one the connection will use."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        try:
            addresses = await resolve_host(host, port)
        except socket.gaierror:
            raise FetchError("the host {host} does not exist", host=host) from None
    else:
        addresses = [str(literal)]
    if not addresses:
        raise FetchError("the host {host} does not exist", host=host)
    if not limits.allow_private:
        for address in addresses:
            if not _is_public(address):
                raise FetchError(
                    "links to private or local addresses ({host}) are not allowed "
                    "(BRIEFBOT_ALLOW_PRIVATE_URLS)",
                    host=host,
                )
    return addresses[0]


def _at_address(url: str, address: str) -> str:
    """The URL with its host replaced by the checked address (the port and path kept)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


async def fetch_page(
    url: str,
    limits: FetchLimits,
    *,
    accept: tuple[str, ...] = HTML_TYPES,
    headers: dict[str, str] | None = None,
) -> FetchedPage:
    """GET a page of an accepted type, following redirects one hop at a time so each hop is
    checked; `headers` may carry If-None-Match / If-Modified-Since (a 304 is not_modified).

    Each host is resolved once and checked, and the request goes to that address, with the
    host's name in the Host header and in TLS (SNI and certificate): a name that answers the
    check with a public address and the connection with a private one (DNS rebinding) never
    reaches the private one.
    """
    url = check_url(url)
    seen: set[str] = set()
    checked: dict[tuple[str, int], str] = {}
    async with httpx.AsyncClient(
        timeout=limits.timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would resolve names itself
    ) as client:
        for _ in range(limits.max_redirects + 1):
            if url in seen:
                raise FetchError("the link redirects in a loop")
            seen.add(url)
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            if (host, port) not in checked:
                checked[host, port] = await _checked_address(host, port, limits)
            request = client.build_request(
                "GET",
                _at_address(url, checked[host, port]),
                headers={**(headers or {}), "Host": _host_header(url)},
                extensions={"sni_hostname": host},
            )
            try:
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("the site sent a redirect without a target")
                        url = check_url(urljoin(url, location))
                        continue
                    if response.status_code == 304:
                        return FetchedPage(url, b"", None, not_modified=True)
                    return await _read(url, response, limits, accept)
                finally:
                    await response.aclose()
            except httpx.TimeoutException:
                raise FetchError("the site took too long to answer") from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    "could not reach {host} ({error})", host=host, error=type(exc).__name__
                ) from None
        raise FetchError("the link redirects too many times")


async def _read(
    url: str, response: httpx.Response, limits: FetchLimits, accept: tuple[str, ...]
) -> FetchedPage:
    if response.status_code == 404:
        raise FetchError("the page was not found (404)")
    if response.status_code >= 400:
        raise FetchError(
            "the site answered with an error ({status})", status=str(response.status_code)
        )
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in accept:
        if accept == HTML_TYPES:
            raise FetchError("that link is not a web page ({kind})", kind=kind)
        raise FetchError("that link is not a feed ({kind})", kind=kind)
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(limits)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limits.max_bytes:
            raise _too_large(limits)
    return FetchedPage(
        url,
        bytes(body),
        response.encoding,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def _too_large(limits: FetchLimits) -> FetchError:
    return FetchError(
        "the page is larger than {megabytes} MB", megabytes=round(limits.max_bytes / 1_000_000)
    )
