"""The command list: one source for /help and the Telegram command menu."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandInfo:
    name: str
    description: str
    admin_only: bool = False


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("start", "Welcome, subscribe to the digest, show the latest article"),
    CommandInfo("summary", "Summary of the current article (add short or long)"),
    CommandInfo("next", "Next (newer) article with its summary"),
    CommandInfo("prev", "Previous (older) article with its summary"),
    CommandInfo("latest", "The 10 newest articles"),
    CommandInfo("length", "Summary length for this chat: short, standard or long"),
    CommandInfo("digest", "Digest time and zone: /digest 07:30 Europe/Berlin, or off"),
    CommandInfo("subscribe", "Get the morning digest in this chat"),
    CommandInfo("unsubscribe", "Stop the morning digest in this chat"),
    CommandInfo("help", "What I can do"),
    CommandInfo("add", "Add an article: /add Title, then the text on the next lines", True),
    CommandInfo("feed", "Feeds: /feed add URL, /feed list, /feed remove N", True),
    CommandInfo("articles", "The library, page by page", True),
    CommandInfo("delete", "Delete an article: /delete ID", True),
    CommandInfo("edit", "Change a title: /edit ID New title", True),
    CommandInfo("admins", "Who the bot's admins are", True),
    CommandInfo("stats", "Library, chats and the last digest run", True),
)

PUBLIC_COMMANDS = tuple(c for c in COMMANDS if not c.admin_only)
