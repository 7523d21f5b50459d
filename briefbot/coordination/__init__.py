"""Work that instances share: who is alive, the update inbox, and summary jobs."""

from briefbot.coordination.inbox import Inbox
from briefbot.coordination.instances import Instance, Instances
from briefbot.coordination.jobs import JobKey, SummaryFailure, SummaryJobs

__all__ = ["Inbox", "Instance", "Instances", "JobKey", "SummaryFailure", "SummaryJobs"]
