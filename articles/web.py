"""Fetching a web page for an article: time and size limits, no private addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import httpcore
import httpx

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


class FetchError(Exception):
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
    parts = urlsplit(url.strip())
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
            raise FetchError(f"the host {host} does not exist") from None
    else:
        addresses = [str(literal)]
    if not addresses:
        raise FetchError(f"the host {host} does not exist")
    if not limits.allow_private:
        for address in addresses:
            if not _is_public(address):
                raise FetchError(
                    f"links to private or local addresses ({host}) are not allowed "
                    "(BRIEFBOT_ALLOW_PRIVATE_URLS)"
                )
    return addresses[0]


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects each host to the address that was checked for it, never to a second DNS
    answer: a name that resolves to a public address for the check and to a private one
    for the connection (DNS rebinding) cannot reach the private one."""

    def __init__(self) -> None:
        self.pins: dict[str, str] = {}
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self.pins.get(host)
        if address is None:
            raise httpcore.ConnectError(f"{host} was not checked before connecting")
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for fetching pages")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: _PinnedBackend) -> None:
        super().__init__()
        # httpx has no public switch for the network backend; its pool takes one.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            network_backend=backend,
        )


async def fetch_page(
    url: str,
    limits: FetchLimits,
    *,
    accept: tuple[str, ...] = HTML_TYPES,
    headers: dict[str, str] | None = None,
) -> FetchedPage:
    """GET a page of an accepted type, following redirects one hop at a time so each hop is
    checked; `headers` may carry If-None-Match / If-Modified-Since (a 304 is not_modified)."""
    url = check_url(url)
    seen: set[str] = set()
    backend = _PinnedBackend()
    async with httpx.AsyncClient(
        timeout=limits.timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=_PinnedTransport(backend),
        trust_env=False,  # a proxy from the environment would resolve names itself
    ) as client:
        for _ in range(limits.max_redirects + 1):
            if url in seen:
                raise FetchError("the link redirects in a loop")
            seen.add(url)
            parts = urlsplit(url)
            assert parts.hostname is not None
            host = parts.hostname
            if host not in backend.pins:
                port = parts.port or (443 if parts.scheme == "https" else 80)
                backend.pins[host] = await _checked_address(host, port, limits)
            try:
                async with client.stream("GET", url, headers=headers or {}) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError("the site sent a redirect without a target")
                        url = check_url(urljoin(url, location))
                        continue
                    if response.status_code == 304:
                        return FetchedPage(url, b"", None, not_modified=True)
                    return await _read(response, limits, accept)
            except httpx.TimeoutException:
                raise FetchError("the site took too long to answer") from None
            except httpx.HTTPError as exc:
                raise FetchError(
                    f"could not reach {parts.hostname} ({type(exc).__name__})"
                ) from None
        raise FetchError("the link redirects too many times")


async def _read(
    response: httpx.Response, limits: FetchLimits, accept: tuple[str, ...]
) -> FetchedPage:
    if response.status_code == 404:
        raise FetchError("the page was not found (404)")
    if response.status_code >= 400:
        raise FetchError(f"the site answered with an error ({response.status_code})")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind not in accept:
        what = "a web page" if accept == HTML_TYPES else "a feed"
        raise FetchError(f"that link is not {what} ({kind})")
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(_too_large(limits))
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limits.max_bytes:
            raise FetchError(_too_large(limits))
    return FetchedPage(
        str(response.url),
        bytes(body),
        response.encoding,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
    )


def _too_large(limits: FetchLimits) -> str:
    return f"the page is larger than {limits.max_bytes / 1_000_000:.0f} MB"
