"""Where webhooks may connect: scheme and address policy, checked at create time and on every
connection (the address actually dialled, so DNS cannot swap in a private address later)."""

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class EgressDenied(Exception):
    """The URL or the address it resolves to is not allowed."""


def check_url(url: str, *, allowed_schemes: list[str], allowed_networks: list[str]) -> None:
    """Refuse URLs webhooks may not use; resolve the host and check every address."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise EgressDenied(f"Invalid webhook URL scheme: '{parts.scheme}'. Only HTTP(S) is sent.")
    if parts.scheme.lower() not in allowed_schemes:
        raise EgressDenied(
            f"Invalid webhook URL scheme: '{parts.scheme}'. Allowed schemes are: "
            f"{', '.join(allowed_schemes)} (PODIUM_WEBHOOK_ALLOWED_SCHEMES)."
        )
    if "@" in parts.netloc:
        raise EgressDenied("Webhook URLs may not carry user names or passwords.")
    if not parts.hostname:
        raise EgressDenied("Webhook URL has no host.")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise EgressDenied("Webhook URL has an invalid port.") from None
    for address in resolve(parts.hostname, parts.port or 443):
        check_address(address, allowed_networks)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` stands for, legacy IPv4 spellings (decimal, hex, octal) included."""
    literal = _ip_literal(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise EgressDenied(f"Webhook host {host!r} does not resolve: {error}") from None
    return sorted({info[4][0] for info in infos})


def check_address(address: str, allowed_networks: list[str]) -> None:
    """Refuse private, loopback, link-local, metadata and other non-public addresses."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if any(ip in ipaddress.ip_network(net, strict=False) for net in allowed_networks):
        return
    for embedded in _embedded_ipv4(ip):
        if any(embedded in ipaddress.ip_network(net, strict=False) for net in allowed_networks):
            return
        if not embedded.is_global:
            raise EgressDenied(f"Webhook address {address} embeds non-public {embedded}.")
    if not ip.is_global or ip.is_multicast:
        raise EgressDenied(
            f"Webhook address {address} is not public; "
            "allow it with PODIUM_WEBHOOK_ALLOWED_NETWORKS."
        )


def _embedded_ipv4(ip) -> list:
    if ip.version != 6:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def _ip_literal(host: str) -> str | None:
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        # inet_aton accepts what browsers and libcs do: 2130706433, 0x7f000001, 0177.0.0.1, 127.1
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


class _CheckedConnectionMixin:
    """Connects only to an address that passes the policy, and to exactly that address."""

    allowed_networks: list[str] = []

    def connect(self):
        last_error = None
        for address in resolve(self.host, self.port):
            check_address(address, self.allowed_networks)
            try:
                self.sock = socket.create_connection((address, self.port), self.timeout)
                # As http.client does: no Nagle delay between a request's small packets.
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                break
            except OSError as error:
                last_error = error
        else:
            raise last_error or OSError(f"could not connect to {self.host}")
        if isinstance(self, http.client.HTTPSConnection):
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


class _HTTPConnection(_CheckedConnectionMixin, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_CheckedConnectionMixin, http.client.HTTPSConnection):
    pass


def open_connection(url: str, *, timeout: float, allowed_networks: list[str]):
    """An HTTP(S) connection to `url`'s host that enforces the address policy when it connects."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        connection = _HTTPSConnection(
            parts.hostname, parts.port or 443, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = _HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    connection.allowed_networks = allowed_networks
    return connection
