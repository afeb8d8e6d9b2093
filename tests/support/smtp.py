"""A real SMTP server on loopback for the tests that read what the platform sent (aiosmtpd's threaded server)."""

from __future__ import annotations

import email
import email.message
from email import policy

from aiosmtpd.controller import Controller


class Inbox:
    """What the server received: (recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [msg for rcpt, msg in self.received if rcpt == [address]]


class LoopbackSMTP(Controller):
    """aiosmtpd's threaded server on 127.0.0.1; with port 0 it learns the free port the system gave it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
