"""Outbound safety: refused URLs and addresses, at save time and at connect time."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from werkzeug.wrappers import Response

from telephony.backends import guard
from telephony.backends.errors import UnsafeRequestError
from telephony.backends.http import HttpClient
from telephony.sandbox.server import serve_in_thread


@pytest.fixture
def policy():
    """Install a policy for one test and put the configured one back afterwards."""
    previous = guard.current_policy()

    def _install(networks=(), *, allow_plain_http=False):
        guard.configure(guard.AddressPolicy.from_strings(list(networks), allow_plain_http=allow_plain_http))

    yield _install
    guard.configure(previous)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://169.254.169.254/", "metadata"),
        ("https://[fe80::1]/", "link-local"),
        ("https://100.100.100.200/", "metadata"),
        ("file:///etc/passwd", "https"),
        ("ftp://pbx.example.net/", "https"),
        ("http://pbx.example.net/", "plain http"),
        ("https://user:pw@pbx.example.net/", "credentials"),
        ("https://10.1.2.3/", "private"),
        ("https://127.0.0.1:9001/", "private"),
        ("https://localhost:9001/", "private"),  # a name that resolves to a refused address
    ],
)
def test_refused_urls(policy, url, message):
    policy([])
    with pytest.raises(UnsafeRequestError, match=message):
        guard.current_policy().check_url(url, resolve=True)


def test_an_allow_list_admits_its_networks_only(policy):
    policy(["10.0.0.0/8"])
    guard.current_policy().check_url("https://10.20.30.40/api/", resolve=True)
    with pytest.raises(UnsafeRequestError, match="outside the networks"):
        guard.current_policy().check_url("https://192.168.1.1/", resolve=True)
    policy(["169.254.0.0/16"])
    with pytest.raises(UnsafeRequestError, match="metadata"):
        guard.current_policy().check_url("https://169.254.169.254/", resolve=True)


@pytest.mark.parametrize(
    "host",
    [
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
        "::ffff:169.254.10.1",  # IPv4-mapped link-local
        "64:ff9b::a9fe:a9fe",  # NAT64
        "2002:a9fe:a9fe::1",  # 6to4
        "::169.254.169.254",  # IPv4-compatible
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254 (obfuscated)
    ],
)
@pytest.mark.parametrize("networks", [["::/0"], ["::/0", "0.0.0.0/0"], []])
def test_ipv6_forms_of_a_refused_ipv4_address_are_refused_too(policy, host, networks):
    policy(networks)
    with pytest.raises(UnsafeRequestError, match="link-local or cloud-metadata"):
        guard.current_policy().check_url(f"https://[{host}]/", resolve=True)
    import ipaddress

    with pytest.raises(UnsafeRequestError):
        guard.current_policy().check_address(ipaddress.ip_address(host))


def test_ipv6_loopback_and_ordinary_addresses_are_not_mistaken_for_ipv4_forms(policy):
    policy(["::1/128", "2001:db8::/32"])
    guard.current_policy().check_url("https://[::1]:9001/", resolve=True)
    guard.current_policy().check_url("https://[2001:db8::5]/", resolve=True)


def test_public_addresses_pass_without_an_allow_list(policy):
    import ipaddress

    policy([])
    guard.current_policy().check_address(ipaddress.ip_address("8.8.8.8"))
    guard.current_policy().check_address(ipaddress.ip_address("2001:4860:4860::8888"))
    with pytest.raises(UnsafeRequestError, match="private or reserved"):
        guard.current_policy().check_url("https://203.0.113.7/")  # a documentation range is not routed


def test_bad_policy_settings_are_reported():
    with pytest.raises(ValueError, match="not a network"):
        guard.AddressPolicy.from_strings(["not-a-network"], allow_plain_http=False)


def test_connect_time_check_refuses_what_save_time_allowed(policy):
    """A host that was fine when saved but resolves to a refused address later is refused when the
    connection opens (and the refusal is in the exchange log)."""
    running = serve_in_thread(_Answer())
    try:
        policy(["127.0.0.0/8"], allow_plain_http=True)
        client = HttpClient(f"http://localhost:{running.port}/")
        assert client.request("GET", "ping").status == 200
        policy(["10.0.0.0/8"], allow_plain_http=True)
        with pytest.raises(UnsafeRequestError, match="outside the networks"):
            HttpClient(f"http://localhost:{running.port}/").request("GET", "ping")
        with pytest.raises(UnsafeRequestError, match="outside the networks"):
            client.request("GET", "ping")  # a pooled client is checked again on its next connection
    finally:
        running.stop()


def test_redirects_to_another_host_are_not_followed(policy):
    policy(["127.0.0.0/8"], allow_plain_http=True)
    running = serve_in_thread(_Answer(redirect_to="http://127.0.0.2:9/elsewhere"))
    try:
        client = HttpClient(running.base_url)
        with pytest.raises(UnsafeRequestError, match="another host"):
            client.request("GET", "ping")
    finally:
        running.stop()


@pytest.mark.django_db
def test_platform_urls_are_checked_when_saved(policy, tree):
    from tests.factories import PlatformFactory

    policy(["127.0.0.0/8"], allow_plain_http=False)
    platform = PlatformFactory.build(organization=tree.reseller, base_url="http://127.0.0.1:9001/api/1.0/")
    with pytest.raises(ValidationError) as caught:
        platform.full_clean()
    assert "plain http" in str(caught.value.message_dict["base_url"])
    platform.base_url = "https://169.254.169.254/"
    with pytest.raises(ValidationError, match="metadata"):
        platform.full_clean()


class _Answer:
    """A tiny WSGI app: answers 200, or redirects."""

    name = "answer"
    base_url = ""

    def __init__(self, redirect_to: str = ""):
        self.redirect_to = redirect_to

    def __call__(self, environ, start_response):
        if self.redirect_to:
            response = Response("", status=302, headers={"Location": self.redirect_to})
        else:
            response = Response("pong")
        return response(environ, start_response)
