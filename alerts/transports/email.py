"""Email: a text and an HTML part, through Django's mail backend (SMTP in production)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from alerts.transports.base import Transport, TransportError


class EmailTransport(Transport):
    kind = "email"

    @classmethod
    def clean_target(cls, target: str) -> str:
        addresses = [part.strip() for part in target.split(",") if part.strip()]
        if not addresses:
            raise ValidationError("Enter at least one email address.")
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)

    def send(self, message, idempotency_key: str) -> int | None:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=self.channel.recipients,
            headers={"X-Perfmon-Idempotency-Key": idempotency_key},
            connection=get_connection(fail_silently=False),
        )
        email.attach_alternative(message.html, "text/html")
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            refused = ", ".join(
                f"{address} ({code} {reply.decode(errors='replace')})"
                for address, (code, reply) in error.recipients.items()
            )
            # 5xx: the address does not exist or is refused for good.
            permanent = all(code >= 500 for code in codes)
            raise TransportError(
                f"recipient refused: {refused}", permanent=permanent, status_code=max(codes)
            ) from None
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error.decode(errors="replace")
            raise TransportError(
                f"SMTP {error.smtp_code}: {reply}", status_code=error.smtp_code
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise TransportError(f"SMTP: {type(error).__name__}: {error}") from None
        return None
