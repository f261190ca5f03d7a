"""Agent profiles and the policies they carry."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.skill import SideEffect

__all__ = ["AgentProfile", "NetworkPolicy", "Policy", "RetryPolicy"]


class NetworkPolicy(BaseModel):
    """Which otherwise-refused destinations a network skill may reach.

    Entries are `HOST`, `HOST:PORT` (that port only) or a CIDR such as `10.0.0.0/8`.
    Public addresses are allowed by default; loopback, private, link-local, metadata and
    reserved addresses only when listed here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    allow: tuple[str, ...] = ()
    trust_env_proxies: bool = Field(
        default=False, description="Use HTTP(S)_PROXY from the environment (off: proxies could bypass checks)."
    )

    @field_validator("allow")
    @classmethod
    def _entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            problem = _allow_entry_problem(entry)
            if problem:
                raise ValueError(f"network allow entry {entry!r}: {problem}")
        return value


def _allow_entry_problem(entry: str) -> str | None:
    """Why `entry` is not `HOST`, `HOST:PORT`, `[IPV6]:PORT` or a CIDR; None when it is."""
    text = entry.strip()
    if not text:
        return "empty"
    if "://" in text:
        return "give HOST[:PORT] or a CIDR, not a URL"
    if "/" in text:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            return f"not a CIDR ({exc})"
        return None
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            return "expected [IPV6]:PORT"
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return "the port must be a number from 1 to 65535"
    if not host or any(c in host for c in " @?#[]/\\"):
        return "not a host name or address"
    return None


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter, drawn from the run's seeded random source."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    max_attempts: int = Field(default=3, ge=1, le=20, description="Attempts, not retries.")
    base_delay_ms: int = Field(default=200, ge=0)
    max_delay_ms: int = Field(default=10_000, ge=0)
    max_retry_after_ms: int = Field(
        default=60_000,
        ge=0,
        description="Longest server-requested wait (Retry-After) honoured; a longer one is not retried.",
    )
    repeat_unsafe: bool = Field(
        default=False,
        description="Retry calls that are not idempotent even when the request may have been sent "
        "(off: such a call is retried only when its failure proves the request never left).",
    )


class Policy(BaseModel):
    """What an agent may do: skills allowed or denied, approvals, retries, timeouts, network."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    allow_skills: tuple[str, ...] | None = Field(default=None, description="None allows every loaded skill.")
    deny_skills: tuple[str, ...] = ()
    approval_required_for: tuple[SideEffect, ...] = Field(
        default=(SideEffect.DESTRUCTIVE,),
        description="Side-effect levels that need an approval before the skill is called.",
    )
    approved: tuple[str, ...] = Field(default=(), description="Skills approved in advance; 'all' approves every one.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeouts_ms: dict[str, int] = Field(default_factory=dict, description="Per-skill timeout overrides.")
    network: NetworkPolicy = Field(default_factory=NetworkPolicy)
    on_step_failure: Literal["stop", "continue"] = "stop"
    repeat_in_flight: bool = Field(
        default=False,
        description="On resume, repeat a side-effecting step that was in flight even if it is not idempotent.",
    )


class AgentProfile(BaseModel):
    """A named agent: its planner, its default resource contract and its policy."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    name: str = "default"
    description: str = ""
    planner: str = "stub"
    contract: ResourceContract = Field(default_factory=ResourceContract)
    policy: Policy = Field(default_factory=Policy)
