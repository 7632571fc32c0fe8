"""The SSD source's options (KPIDASH_SSD_CONFIG, a YAML file), with the spec's defaults.

    allocated_roles: [ALLOCATED]        # invo_professional_role_id prefixes that are allocations
    job_titles:                         # worker roles from job titles: first match wins
      - {contains: [team manager], role: team_manager}
      - {contains: [social worker], role: social_worker}
    team_services:                      # team id or name -> service; wins over dept_team_parent_name
      Assessment Team North: Assessment and MASH

Each key is optional; a list given replaces the default list (it is not added to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from etl.contract import WORKER_ROLES

DEFAULT_ALLOCATED_ROLES: tuple[str, ...] = ("ALLOCATED",)
# (any of these words, role), tried in order: the first job title rule that matches gives the role.
DEFAULT_JOB_TITLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("team manager",), "team_manager"),
    (("senior", "advanced practitioner", "consultant social worker"), "senior_social_worker"),
    (("personal advis",), "personal_advisor"),
    (("family support",), "family_support_worker"),
    (("social worker",), "social_worker"),
)


class SsdOptionsError(Exception):
    """The SSD options file cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class SsdOptions:
    allocated_roles: tuple[str, ...] = DEFAULT_ALLOCATED_ROLES
    job_titles: tuple[tuple[tuple[str, ...], str], ...] = DEFAULT_JOB_TITLES
    team_services: dict[str, str] = field(default_factory=dict)


def read_options(path: Path | None) -> SsdOptions:
    """The options in `path` (None: the defaults); SsdOptionsError naming the file and the problem."""
    if path is None:
        return SsdOptions()
    where = f"the SSD options file {path} (KPIDASH_SSD_CONFIG)"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as err:
        raise SsdOptionsError(f"{where} cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise SsdOptionsError(f"{where} is not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise SsdOptionsError(f"{where} must be a mapping with allocated_roles, job_titles and/or team_services")
    unknown = sorted(set(map(str, data)) - {"allocated_roles", "job_titles", "team_services"})
    if unknown:
        raise SsdOptionsError(f"{where}: {', '.join(unknown)} is not an option "
                              "(the options are allocated_roles, job_titles, team_services)")
    options = SsdOptions()
    if "allocated_roles" in data:
        roles = data["allocated_roles"]
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r.strip() for r in roles):
            raise SsdOptionsError(f"{where}: allocated_roles must be a list of role prefixes, e.g. [ALLOCATED]")
        options = SsdOptions(tuple(r.strip() for r in roles), options.job_titles, options.team_services)
    if "job_titles" in data:
        options = SsdOptions(options.allocated_roles, _job_titles(data["job_titles"], where), options.team_services)
    if "team_services" in data:
        services = data["team_services"]
        if not isinstance(services, dict) or not all(
            isinstance(k, str | int) and isinstance(v, str) and v.strip() for k, v in services.items()
        ):
            raise SsdOptionsError(f"{where}: team_services must map a team id or name to a service, "
                                  "e.g. {Assessment Team North: Assessment and MASH}")
        options = SsdOptions(options.allocated_roles, options.job_titles,
                             {str(k).strip(): v.strip() for k, v in services.items()})
    return options


def _job_titles(rules: object, where: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    example = "e.g. [{contains: [team manager], role: team_manager}]"
    if not isinstance(rules, list) or not rules:
        raise SsdOptionsError(f"{where}: job_titles must be a list of rules, {example}")
    out = []
    for i, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or set(rule) != {"contains", "role"}:
            raise SsdOptionsError(f"{where}: job_titles rule {i} must have exactly `contains` and `role`, {example}")
        words = rule["contains"]
        words = [words] if isinstance(words, str) else words
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise SsdOptionsError(f"{where}: job_titles rule {i}: `contains` must be words to look for, {example}")
        if rule["role"] not in WORKER_ROLES:
            raise SsdOptionsError(f"{where}: job_titles rule {i}: role {rule['role']!r} is not one of "
                                  f"{', '.join(WORKER_ROLES)}")
        out.append((tuple(w.strip().lower() for w in words), rule["role"]))
    return tuple(out)
