"""KPIDASH_TRUSTED_PROXIES read as networks: standard library only, so the settings can check it without
importing the app database (core.client_address, which uses these, imports SQLAlchemy)."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(spec: str) -> tuple[Network, ...]:
    """KPIDASH_TRUSTED_PROXIES ("10.0.0.5, 192.168.1.0/24") as networks; ValueError naming a bad entry."""
    networks = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"KPIDASH_TRUSTED_PROXIES: {entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return tuple(networks)
