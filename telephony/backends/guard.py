"""Outbound safety: where the portal may send a request at all.

A platform's base URL is typed by staff, so the portal must never become a way to reach what sits
next to it (a cloud metadata service, the database, an internal admin page). Every address is
checked twice: when the URL is saved (`check_url(..., resolve=True)`) and when a connection is
opened — at that moment the name is resolved once, every address is checked, and the socket is
opened to a checked address, so a name that changes its answer in between (DNS rebinding) cannot
slip through. TLS still verifies the certificate against the host name.

Rules:
- https only, unless plain http is explicitly allowed (development: the sandbox on loopback);
- link-local (169.254.0.0/16, fe80::/10), cloud metadata addresses, unspecified, multicast and
  broadcast addresses are always refused;
- with an allow-list of networks, every address must be inside one of them; without one, only
  public (globally routed) addresses are allowed.

The Django app configures the process-wide policy from settings (PBX_ALLOWED_NETWORKS,
PBX_ALLOW_PLAIN_HTTP); without Django (driver tests) the permissive default still refuses the
always-refused addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from telephony.backends.errors import UnsafeRequestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8", "255.255.255.255/32")
)


@dataclass(frozen=True)
class AddressPolicy:
    """Which URLs and addresses outbound requests may reach."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    allow_plain_http: bool = False
    allow_any_address: bool = False  # only for the unconfigured default (no Django settings loaded)
    description: str = field(default="", compare=False)
    setting: str = field(default="PBX_ALLOWED_NETWORKS", compare=False)  # named in refusals

    @classmethod
    def from_strings(
        cls, networks: list[str], *, allow_plain_http: bool, setting: str = "PBX_ALLOWED_NETWORKS"
    ) -> AddressPolicy:
        parsed = []
        for text in networks:
            try:
                parsed.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{setting}: {text!r} is not a network like 10.0.0.0/8") from None
        return cls(allowed_networks=tuple(parsed), allow_plain_http=allow_plain_http, setting=setting)

    def check_address(self, address: IPAddress, host: str = "") -> None:
        embedded = embedded_ipv4(address)
        if embedded is not None:
            # an IPv6 form that reaches an IPv4 host: that host must pass on its own as well
            self.check_address(embedded, f"{host or address}")
        shown = f"{host} ({address})" if host and host != str(address) else str(address)
        if address in METADATA_ADDRESSES or any(address in network for network in ALWAYS_REFUSED):
            raise UnsafeRequestError(f"{shown} is a link-local or cloud-metadata address; the portal never calls it")
        if self.allow_any_address:
            return
        if self.allowed_networks:
            if not any(address in network for network in self.allowed_networks):
                allowed = ", ".join(str(n) for n in self.allowed_networks)
                raise UnsafeRequestError(f"{shown} is outside the networks the portal may call ({allowed})")
        elif not address.is_global:
            raise UnsafeRequestError(
                f"{shown} is a private or reserved address; add its network to {self.setting} to allow it"
            )

    def check_url(self, url: str, *, resolve: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeRequestError(f"Only https:// addresses are allowed, not {parts.scheme or 'no'} scheme")
        if not parts.hostname:
            raise UnsafeRequestError("The address has no host name")
        literal = _literal(parts.hostname)
        if literal is not None:
            self.check_address(literal)
        if parts.scheme == "http" and not self.allow_plain_http:
            raise UnsafeRequestError("Use https://; plain http is not allowed here")
        if parts.username or parts.password:
            raise UnsafeRequestError("Put credentials in the credential fields, not in the address")
        try:
            parts.port  # noqa: B018  (raises for a port out of range)
        except ValueError:
            raise UnsafeRequestError("The port of the address is not valid") from None
        if literal is None and resolve:
            for address in resolve_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)):
                self.check_address(address, parts.hostname)


NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 host an IPv6 address reaches: IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96),
    6to4 (2002::/16), Teredo's client and the deprecated IPv4-compatible form (::a.b.c.d)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):  # not :: and ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_policy = AddressPolicy(allow_any_address=True, allow_plain_http=True, description="unconfigured")


_webhook_policy = AddressPolicy(description="webhooks: public addresses only", setting="WEBHOOK_ALLOWED_NETWORKS")


def configure(policy: AddressPolicy, *, webhooks: AddressPolicy | None = None) -> None:
    global _policy, _webhook_policy
    _policy = policy
    if webhooks is not None:
        _webhook_policy = webhooks


def current_policy() -> AddressPolicy:
    return _policy


def webhook_policy() -> AddressPolicy:
    """Where outgoing webhooks may go: a customer types the URL, so by default only public
    addresses (never the PBX management networks that PBX_ALLOWED_NETWORKS opens to platforms)."""
    return _webhook_policy


def resolve_host(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeRequestError(f"{host} cannot be resolved: {error.strerror or error}") from None
    except (UnicodeError, ValueError):  # a name IDNA cannot encode (a label too long, an empty one)
        raise UnsafeRequestError(f"{host} is not a host name that can be looked up") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class _CheckedConnectionMixin:
    """Resolve once, check every address, connect to a checked one; and check the address a kept
    connection reaches again before each request on it (the rules may have changed since)."""

    policy_source = staticmethod(current_policy)  # which rules: the PBX platforms', unless told otherwise

    def request(self, *args, **kwargs):  # type: ignore[override]
        sock = getattr(self, "sock", None)
        try:
            peer = sock.getpeername()[0] if sock is not None else None  # kept alive from an earlier request
        except OSError:
            peer = None  # no longer connected: the request fails or reconnects, through _new_conn's check
        if peer is not None:
            self.policy_source().check_address(ipaddress.ip_address(peer), self._dns_host)  # type: ignore[attr-defined]
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def _new_conn(self):  # type: ignore[override]
        host = self._dns_host  # type: ignore[attr-defined]
        addresses = [_literal(host)] if _literal(host) else resolve_host(host, self.port)  # type: ignore[attr-defined]
        policy = self.policy_source()
        for address in addresses:
            policy.check_address(address, host)
        self._dns_host = str(addresses[0])  # type: ignore[attr-defined]
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = host  # type: ignore[attr-defined]


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """A requests adapter whose connections only ever open to addresses the policy allows: the PBX
    platforms' (`current_policy`), or the one `policy_source` returns (the webhooks')."""

    def __init__(self, *args, policy_source=None, **kwargs):
        self.policy_source = policy_source
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        pools = {"http": CheckedHTTPConnectionPool, "https": CheckedHTTPSConnectionPool}
        if self.policy_source is not None:
            source = staticmethod(self.policy_source)
            pools = {
                scheme: type(pool.__name__, (pool,), {"ConnectionCls": type(
                    pool.ConnectionCls.__name__, (pool.ConnectionCls,), {"policy_source": source}
                )})
                for scheme, pool in pools.items()
            }  # fmt: skip
        self.poolmanager.pool_classes_by_scheme = pools
