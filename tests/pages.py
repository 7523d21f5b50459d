"""A small web site on 127.0.0.1 for the link tests: an article, walls, junk and traps."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import ARTICLE_TEXT

ARTICLE_HTML = f"""<!doctype html><html><head><title>Footbridge opens | Westford News</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2026-11-20">
</head><body><nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article><h1>Footbridge opens in Westford</h1>
<p>{ARTICLE_TEXT}</p>
<p>Local historians said the crossing follows the line of a ferry that ran until 1911.
The council will publish visitor numbers for the first month in January.</p>
</article><footer>Copyright Westford News</footer></body></html>"""

PAYWALL_HTML = """<html><head><title>Big story</title></head><body><article><h1>Big story</h1>
<p>The first lines of a story that you cannot read here.</p>
<p>Subscribe to continue reading. Already a subscriber? Sign in to read the full story.</p>
</article></body></html>"""

COOKIE_HTML = """<html><head><title>News</title></head><body><div class="consent">
<p>We use cookies to improve your experience. Accept all cookies to continue to the site,
or open cookie settings to choose.</p></div></body></html>"""

SHORT_HTML = "<html><head><title>Hi</title></head><body><p>Just a short note.</p></body></html>"


def post_html(number: int) -> str:
    return ARTICLE_HTML.replace(
        "Footbridge opens in Westford", f"Post {number}: bridge news"
    ).replace("The council will publish", f"This is post {number}. The council will publish")


def feed_xml(count: int, base: str) -> str:
    items = "".join(
        f"<item><title>Post {n}</title><link>{base}/post{n}</link><guid>post-{n}</guid>"
        f"<description>Short teaser {n}</description></item>"
        for n in range(count, 0, -1)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Westford Feed</title>'
        f"<link>{base}</link><description>News</description>{items}</channel></rss>"
    )


class Site:
    def __init__(self) -> None:
        site = self
        self.hits: list[str] = []
        self.feed_entries = 2
        self.not_modified = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.hits.append(self.path)
                if self.path in ("/feed.xml", "/other-feed.xml"):
                    etag = f'"v{site.feed_entries}"'
                    if self.headers.get("If-None-Match") == etag:
                        site.not_modified += 1
                        self.send_response(304)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    body = feed_xml(site.feed_entries, site.url("")).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/post"):
                    body = post_html(int(self.path[5:] or 0)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                route = {
                    "/article": (200, "text/html; charset=utf-8", ARTICLE_HTML.encode()),
                    "/paywall": (200, "text/html", PAYWALL_HTML.encode()),
                    "/short": (200, "text/html", SHORT_HTML.encode()),
                    "/cookies": (200, "text/html", COOKIE_HTML.encode()),
                    "/image.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * 100),
                    "/huge": (200, "text/html", b"<html><body>" + b"<p>word</p>" * 600_000),
                }.get(self.path)
                if self.path == "/loop":
                    self.send_response(302)
                    self.send_header("Location", "/loop2")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/loop2":
                    self.send_response(301)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/moved":
                    self.send_response(301)
                    self.send_header("Location", "/article")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, kind, body = route or (404, "text/html", b"<h1>Not found</h1>")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)  # the bot hangs up on pages over its limit

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
