"""The readers' side: each chat's state and settings, digest schedules and delivery records,
and the bot's admins."""

from briefbot.chats.chats import Admins, Chats
from briefbot.chats.deliveries import NOT_SENT_AGAIN, ClaimEntry, Deliveries, DeliveryState
from briefbot.chats.records import (
    ChatRef,
    ChatState,
    ChatTopic,
    Delivery,
    DigestRun,
    followed_and_muted,
)
from briefbot.chats.schedule import Days, DigestSchedule, schedule_for

__all__ = [
    "NOT_SENT_AGAIN",
    "Admins",
    "ChatRef",
    "ChatState",
    "ChatTopic",
    "Chats",
    "ClaimEntry",
    "Days",
    "Deliveries",
    "Delivery",
    "DeliveryState",
    "DigestRun",
    "DigestSchedule",
    "followed_and_muted",
    "schedule_for",
]
