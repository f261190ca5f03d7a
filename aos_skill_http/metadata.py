"""The cloud metadata endpoints `http_call` refuses by default, whatever address range they are in.

A metadata service hands the machine's credentials to anything on the machine that asks, so a
URL chosen by a caller (a planner, a model, a user) must never reach one: that is server-side
request forgery. Most live at the link-local 169.254.169.254, refused anyway; several do not:
Azure's WireServer is the public-looking 168.63.129.16, Alibaba's 100.100.100.200 sits in
carrier-grade NAT space, Oracle's legacy 192.0.0.192 in an IETF block, and Equinix Metal's is a
public host name. Each entry is judged before the address ranges, so it is refused as `metadata`
and stays refused if a range is ever allowed by default. Sources: each provider's documentation
of its instance metadata service. The skill's README shows this list; a test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METADATA_ADDRESSES", "METADATA_NAMES", "Endpoint"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A metadata endpoint (an address, or a host name refused whatever it resolves to) and whose it is."""

    target: str
    providers: str


METADATA_ADDRESSES: tuple[Endpoint, ...] = (
    Endpoint("169.254.169.254", "AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack and most other clouds"),
    Endpoint("169.254.170.2", "AWS ECS task metadata and credentials"),
    Endpoint("169.254.170.23", "AWS EKS Pod Identity Agent"),
    Endpoint("168.63.129.16", "Azure WireServer and host agent"),
    Endpoint("192.0.0.192", "Oracle Cloud (legacy)"),
    Endpoint("100.100.100.200", "Alibaba Cloud"),
    Endpoint("169.254.42.42", "Scaleway"),
    Endpoint("169.254.0.23", "Tencent Cloud"),
    Endpoint("fd00:ec2::254", "AWS (IPv6)"),
    Endpoint("fd00:ec2::23", "AWS EKS Pod Identity Agent (IPv6)"),
    Endpoint("fd20:ce::254", "GCP (IPv6)"),
    Endpoint("fd00:c1::a9fe:a9fe", "Oracle Cloud (IPv6)"),
    Endpoint("fd00:42::42", "Scaleway (IPv6)"),
    Endpoint("fd00:a9fe:a9fe::1", "Linode/Akamai (IPv6)"),
    Endpoint("fe80::a9fe:a9fe", "OpenStack (IPv6)"),
)

METADATA_NAMES: tuple[Endpoint, ...] = (
    Endpoint("metadata.google.internal", "GCP"),
    Endpoint("metadata.goog", "GCP"),
    Endpoint("metadata", "GCP (short name)"),
    Endpoint("instance-data", "AWS"),
    Endpoint("instance-data.ec2.internal", "AWS"),
    Endpoint("metadata.tencentyun.com", "Tencent Cloud"),
    Endpoint("metadata.platformequinix.com", "Equinix Metal (a public address)"),
    Endpoint("metadata.packet.net", "Equinix Metal, formerly Packet (a public address)"),
)
