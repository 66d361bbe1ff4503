"""Where webhooks may connect: scheme and address policy, checked at create time and on every
connection (the address actually dialled, so DNS cannot swap in a private address later).

The address rule is "globally routable", not a list of bad spellings: an IPv6 address must lie
in global unicast space (2000::/3) and be global to `ipaddress`, and every IPv4 address it
embeds (IPv4-mapped, NAT64, 6to4, Teredo) must be public too. So deprecated forms such as
IPv4-compatible ::/96 or site-local fec0::/10, which `ipaddress` calls global, are refused.
"""

import http.client
import ipaddress
import socket
import ssl
import string
from urllib.parse import urlsplit

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the IPv4 host is the target
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
# Inside 2000::/3 but not routable, and newer than some Pythons' tables (RFC 9637).
_IPV6_NOT_GLOBAL = [ipaddress.ip_network("3fff::/20")]
# RFC 3986: unreserved, reserved and '%' (checked as %XX separately); nothing else may appear.
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_HEX = frozenset(string.hexdigits)


class EgressDenied(Exception):
    """The URL or the address it resolves to is not allowed."""


def check_url(url: str, *, allowed_schemes: list[str], allowed_networks: list[str]) -> None:
    """Refuse URLs webhooks may not use; resolve the host and check every address."""
    _check_characters(url)
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
    """Refuse every address that is not globally routable, whatever its spelling, unless the
    operator allowed its network (or the network of the IPv4 address it embeds)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    networks = [ipaddress.ip_network(net, strict=False) for net in allowed_networks]
    # An IPv4-mapped address is dialled as its IPv4 address, so that one's network counts too.
    if any(candidate in net for net in networks for candidate in (ip, _dialled(ip))):
        return
    if not is_public(ip):
        raise EgressDenied(
            f"Webhook address {address} is not public; "
            "allow it with PODIUM_WEBHOOK_ALLOWED_NETWORKS."
        )


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for a globally routable unicast address, and one whose embedded IPv4 is too."""
    if ip.version == 4:
        return ip.is_global and not ip.is_multicast
    if ip.ipv4_mapped is not None:
        return is_public(ip.ipv4_mapped)
    if ip in _NAT64:
        return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip not in _IPV6_GLOBAL_UNICAST or any(ip in net for net in _IPV6_NOT_GLOBAL):
        return False  # ::/96, fec0::/10, fc00::/7, fe80::/10, ff00::/8, 64:ff9b:1::/48, ...
    if not ip.is_global:
        return False
    return all(is_public(embedded) for embedded in _embedded_ipv4(ip))


def _dialled(ip):
    """The IPv4 address an IPv4-mapped IPv6 address stands for, else the address itself."""
    return (ip.ipv4_mapped if ip.version == 6 else None) or ip


def _embedded_ipv4(ip) -> list:
    """Every IPv4 address an IPv6 spelling can lead to (a translator or tunnel dials it)."""
    if ip.version != 6:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64 or int(ip) >> 32 == 0:  # NAT64, and deprecated IPv4-compatible ::a.b.c.d
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def _check_characters(url: str) -> None:
    """Refuse what no valid URL holds: spaces, control characters, non-ASCII, a stray '%'.

    Python's URL parsing silently drops tabs and newlines, so what a receiver or a log would
    see could differ from what was checked.
    """
    for position, character in enumerate(url):
        if character not in _URL_CHARACTERS:
            raise EgressDenied(
                f"Invalid webhook URL: character {character!r} at position {position} is not "
                "allowed in a URL (spaces, control and non-ASCII characters must be "
                "percent-encoded; host names in their ASCII (IDNA) form)."
            )
        digits = url[position + 1 : position + 3]
        if character == "%" and (len(digits) < 2 or not set(digits) <= _HEX):
            raise EgressDenied(f"Invalid webhook URL: '%' at position {position} starts no %XX.")


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
