"""Which addresses an HttpRequest may reach: the checks, without a network."""

from __future__ import annotations

import ipaddress
import re

import pytest

from workflows.nodes.faults import ValidationFault
from workflows.nodes.http_guard import (
    address_problem,
    check_url,
    parse_allow_list,
    refusal,
    vetted_addresses,
)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize("address, problem", [
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a binding
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("100.64.0.1", "not globally routable"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
])
def test_non_public_addresses_have_a_problem(address, problem):
    assert address_problem(ip(address)) == problem


@pytest.mark.parametrize("address", ["240.0.0.1", "198.18.0.1", "192.0.2.1", "2001:db8::1"])
def test_reserved_and_documentation_ranges_are_refused(address):
    assert address_problem(ip(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_have_none(address):
    assert address_problem(ip(address)) is None


def test_the_allow_list_holds_names_and_ranges():
    names, networks = parse_allow_list(["Internal.Example.", "10.1.0.0/16", "::1", " ", "[fd00::]"])
    assert names == {"internal.example"}
    assert [str(network) for network in networks] == ["10.1.0.0/16", "::1/128", "fd00::/128"]


def test_a_host_is_refused_when_any_of_its_addresses_is_private():
    # given a name resolving to a public and a private address
    addresses = [ip("93.184.215.14"), ip("10.0.0.7")]
    # when nothing is allowed, then the private one is named
    assert refusal("mixed.example", addresses, []) == (
        "Refusing to connect to mixed.example: it resolves to 10.0.0.7, a private address; "
        "allow it with WORKFLOW_HTTP_ALLOWED_HOSTS")


@pytest.mark.parametrize("allowed", [["mixed.example"], ["MIXED.example."], ["10.0.0.0/24"],
                                     ["10.0.0.7"]])
def test_an_allowed_name_or_range_lifts_the_refusal(allowed):
    addresses = [ip("93.184.215.14"), ip("10.0.0.7")]
    assert refusal("mixed.example", addresses, allowed) is None


def test_a_range_allows_only_the_addresses_inside_it():
    addresses = [ip("10.0.0.7"), ip("10.0.1.7")]
    assert "10.0.1.7" in refusal("two.example", addresses, ["10.0.0.0/24"])


def test_a_name_resolving_to_loopback_is_refused_unless_allowed(settings):
    # given localhost, which resolves to loopback addresses
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    # when it is vetted without an allow-list entry, then it is refused, naming the host
    with pytest.raises(ValidationFault, match="Refusing to connect to localhost") as refused:
        vetted_addresses("localhost", 80)
    assert refused.value.details == {"host": "localhost"}
    # and with its name allowed, its addresses are returned
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["localhost"]
    assert ip("127.0.0.1") in vetted_addresses("localhost", 80)


@pytest.mark.parametrize("literal", ["10.0.0.1", "169.254.169.254", "::1", "[::1]"])
def test_address_literals_are_checked_without_resolving(literal, settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    with pytest.raises(ValidationFault, match=re.escape(f"Refusing to connect to {literal}")):
        vetted_addresses(literal, 80)


def test_an_unresolvable_host_is_a_validation_fault(settings):
    with pytest.raises(ValidationFault, match="Cannot resolve host no-such-host.invalid"):
        vetted_addresses("no-such-host.invalid", 80)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/",
                                 "example.com/path"])
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(ValidationFault):
        check_url(url)


def test_http_and_https_urls_pass():
    check_url("http://example.com/a")
    check_url("HTTPS://example.com:8443/a?b=c")
