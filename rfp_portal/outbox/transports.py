"""How a message leaves: a file (development), SMTP (production), an HTTPS POST (webhooks).

Every failure is sorted into temporary (try again later: a refused connection, SMTP 4xx,
HTTP 5xx and 429) or permanent (SMTP 5xx, any other HTTP 4xx, a redirect, an unsafe target).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import logging
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger("rfp_portal.outbox")

SMTP_TIMEOUT = 20
WEBHOOK_TIMEOUT = 5
RETRY_AFTER_MAX = 24 * 3600


class DeliveryError(Exception):
    permanent = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TemporaryFailure(DeliveryError):
    """Worth trying again later (``retry_after`` seconds, when the other side said)."""


class PermanentFailure(DeliveryError):
    """Trying again will not help."""

    permanent = True


class UnsafeTarget(PermanentFailure):
    """A webhook URL the portal will not post to (not https, or a private address)."""


# -- e-mail ------------------------------------------------------------------------------------


class FileMailer:
    """Writes each message as an ``.eml`` file (what ``make run`` does with no mail server)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> FileMailer:
        return self

    def __exit__(self, *_exc) -> None:
        pass

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = message["Message-ID"].strip("<>").split("@")[0]
        path = self.folder / f"{stamp}-{name}.eml"
        tmp = path.with_suffix(".part")
        tmp.write_bytes(message.as_bytes())
        os.replace(tmp, path)
        log.info("mail to %s, %r, written to %s", message["To"], message["Subject"], path)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @property
    def is_loopback(self) -> bool:
        return self.host in ("localhost", "127.0.0.1", "::1")


def parse_mail_url(url: str) -> SmtpSettings:
    """``smtp://user:pass@host:587`` (STARTTLS) or ``smtps://…`` / port 465 (TLS from the start).

    :raise ValueError: for anything else.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("MAIL_URL must look like smtp://user:password@host:587 or smtps://…")
    port = parts.port or (465 if parts.scheme == "smtps" else 587)
    return SmtpSettings(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps" or port == 465,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _smtp_error(error: Exception) -> DeliveryError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        text = "; ".join(f"{code} {msg!r}" for code, msg in error.recipients.values())
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentFailure(f"recipient refused: {text}")
        return TemporaryFailure(f"recipient deferred: {text}")
    if isinstance(error, smtplib.SMTPResponseException):
        detail = error.smtp_error
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        text = f"SMTP {error.smtp_code} {detail}"
        return PermanentFailure(text) if 500 <= error.smtp_code < 600 else TemporaryFailure(text)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return PermanentFailure(f"SMTP server: {error}")
    return TemporaryFailure(f"{type(error).__name__}: {error}")


class SmtpMailer:
    """Sends through one SMTP connection, opened on first use and kept for the pass."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif s.username or not s.is_loopback:
                smtp.close()
                # Never a password, nor anyone's mail, in the clear over the network. A setting
                # to fix, not a fault of the message: it waits and tries again.
                raise TemporaryFailure(f"{s.host}:{s.port} does not offer STARTTLS")
        if s.username:
            try:
                smtp.login(s.username, s.password or "")
            except smtplib.SMTPException as error:
                smtp.close()
                # A wrong MAIL_URL password fails every message alike; once it is put right,
                # what waited goes out.
                raise TemporaryFailure(f"SMTP log-in refused: {error}") from error
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except DeliveryError:
            self.close()
            raise
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise _smtp_error(error) from error

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def mailer_for(mail_url: str, instance_path: Path) -> FileMailer | SmtpMailer:
    """The mailer ``MAIL_URL`` names: empty or ``file`` for files in the instance folder."""
    if not mail_url or mail_url == "file":
        return FileMailer(Path(instance_path) / "mail")
    if mail_url.startswith("file://"):
        return FileMailer(Path(mail_url[len("file://") :]))
    return SmtpMailer(parse_mail_url(mail_url))


# -- webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection goes to


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: mapped, 6to4, NAT64 or IPv4-compatible."""
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if any(ip in net for net in NAT64) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address (such as a cloud metadata service)"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "an address that is not public"
    return None


def check_target(url: str, *, allow_loopback: bool = False, resolve=socket.getaddrinfo) -> Target:
    """Where a webhook may post: https, a public address (every address the name resolves to).

    With ``allow_loopback`` (tests, local development) loopback addresses, over http too.

    :raise UnsafeTarget: with the reason.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget("That is not a URL.") from error
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("A webhook URL must start with https://.")
    if parts.username or parts.password:
        raise UnsafeTarget("A webhook URL cannot carry a user name or password.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UnsafeTarget(f"{parts.hostname} does not resolve.") from error
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        why = _refusal(ip, allow_loopback)
        if why:
            raise UnsafeTarget(f"{parts.hostname} resolves to {why} ({ip}); webhooks go out only.")
        addresses.append(ip)
    if not addresses:
        raise UnsafeTarget(f"{parts.hostname} does not resolve.")
    if parts.scheme == "http" and not (allow_loopback and all(ip.is_loopback for ip in addresses)):
        raise UnsafeTarget("A webhook URL must start with https://.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, str(addresses[0]))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the address that was checked, with the host's name for TLS (no re-resolving,
    so a name cannot point somewhere else between the check and the connection)."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min((when - datetime.now(UTC)).total_seconds(), RETRY_AFTER_MAX))


def post_json(url: str, body: bytes, headers: dict[str, str], *, allow_loopback: bool) -> int:
    """POST ``body``; return the status. No redirects are followed; 5 s timeouts.

    :raise TemporaryFailure: for a connection failure, 5xx or 429 (with Retry-After).
    :raise PermanentFailure: for an unsafe target, a redirect or another 4xx.
    """
    target = check_target(url, allow_loopback=allow_loopback)
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(target, WEBHOOK_TIMEOUT)
    else:
        connection = http.client.HTTPConnection(
            target.address, target.port, timeout=WEBHOOK_TIMEOUT
        )
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
                "Content-Type": "application/json",
                "User-Agent": "rfp-portal-webhooks",
                **headers,
            },
        )
        response = connection.getresponse()
        status = response.status
        detail = response.read(500).decode("utf-8", "replace")
        retry_after = _retry_after(response.getheader("Retry-After"))
    except (OSError, http.client.HTTPException) as error:
        raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    text = f"HTTP {status} {detail}".strip()
    if status == 429 or status >= 500:
        raise TemporaryFailure(text, retry_after=retry_after)
    if 300 <= status < 400:
        raise PermanentFailure(f"HTTP {status}: redirects are not followed; give the final URL")
    raise PermanentFailure(text)
