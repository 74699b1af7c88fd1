"""Alert channels: email, webhook, Apprise, behind one `Sender` interface."""

from worker.alerts.base import Sender, build_sender, channel_option_problems

__all__ = ["Sender", "build_sender", "channel_option_problems"]
