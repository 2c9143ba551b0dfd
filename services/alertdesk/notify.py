"""Notifications outside the page (a Teams/Slack-style webhook, email): counts and a sign-in link, never a child.

The notifier only ever receives a council code and a severity per new alert, so it has no child key or alert id
that it could leak: the message is built from counts alone.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiohttp

from schemas.codes import Severity
from services.alertdesk.metrics import DeskMetrics
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.state import AlertRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Digest:
    """New alerts for one council since the last notification: counts only."""

    la_code: str
    by_severity: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def digest_text(digest: Digest, login_url: str) -> str:
    order = [s.value for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)]
    parts = ", ".join(f"{digest.by_severity[s]} {s}" for s in order if digest.by_severity.get(s))
    noun = "alert" if digest.total == 1 else "alerts"
    return (
        f"{digest.total} new Front Door {noun} for council {digest.la_code} ({parts}). "
        f"Sign in to the alert desk to review: {login_url}"
    )


def webhook_payload(digest: Digest, login_url: str) -> dict[str, Any]:
    """`text` is what both Slack and Teams incoming webhooks display."""
    return {"text": digest_text(digest, login_url)}


def email_message(digest: Digest, login_url: str, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{digest.total} new Front Door alerts for council {digest.la_code}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(digest_text(digest, login_url) + "\n\nThis message carries counts only, by design.\n")
    return message


@dataclass(slots=True)
class Notifier:
    settings: AlertDeskSettings
    metrics: DeskMetrics
    _pending: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_url or (self.settings.smtp_host and self.settings.email_to))

    @property
    def login_url(self) -> str:
        return self.settings.public_url.rstrip("/") + "/login"

    def count(self, record: AlertRecord) -> None:
        """A Desk new-alert listener: keeps the council and severity, and nothing else, of the new alert."""
        self._pending[(record.la_code, record.severity.value)] += 1

    def drain(self) -> list[Digest]:
        councils: dict[str, dict[str, int]] = {}
        for (la_code, severity), count in sorted(self._pending.items()):
            councils.setdefault(la_code, {})[severity] = count
        self._pending.clear()
        return [Digest(la_code, counts) for la_code, counts in councils.items()]

    async def send(self, digest: Digest, http: aiohttp.ClientSession) -> None:
        if self.settings.webhook_url:
            await self._channel("webhook", self._post(http, digest))
        if self.settings.smtp_host and self.settings.email_to:
            await self._channel("email", asyncio.to_thread(self._email, digest))

    async def _channel(self, channel: str, sending: Any) -> None:
        try:
            await sending
        except (aiohttp.ClientError, OSError, smtplib.SMTPException, TimeoutError) as error:
            self.metrics.notifications.labels(channel=channel, outcome="failure").inc()
            log.warning("%s notification failed: %s", channel, type(error).__name__)
        else:
            self.metrics.notifications.labels(channel=channel, outcome="sent").inc()

    async def _post(self, http: aiohttp.ClientSession, digest: Digest) -> None:
        assert self.settings.webhook_url is not None
        payload = webhook_payload(digest, self.login_url)
        async with http.post(self.settings.webhook_url, json=payload, timeout=aiohttp.ClientTimeout(total=10)) as reply:
            reply.raise_for_status()

    def _email(self, digest: Digest) -> None:
        s = self.settings
        assert s.smtp_host is not None
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_username and s.smtp_password:
                smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
            smtp.send_message(email_message(digest, self.login_url, s.email_from, s.email_to))

    async def run(self, stop: asyncio.Event) -> None:
        """Every interval, one digest per council with new alerts; nothing is sent when nothing is new."""
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                try:
                    async with asyncio.timeout(self.settings.notify_interval_seconds):
                        await stop.wait()
                except TimeoutError:
                    pass
                for digest in self.drain():
                    await self.send(digest, http)
