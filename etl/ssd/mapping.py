"""The SSD's tables onto the extract contract's nine tables, exactly as ../shared/spec/ssd-source.md says.

Set-based DuckDB SQL over the staged SSD tables (etl.ssd.reader). The mapping is applied to the SSD
rows as they are, before the contract's rules reject anything: a value that cannot be read is passed
on as it is, so the contract's own checks reject the row and say why; an involvement or episode that is
later rejected can still decide a team. Each contract row keeps the SSD row it came from (`_line`,
`_row`) so that rejects and warnings can be reported in the SSD's terms (etl.ssd.report).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from etl.ssd.options import SsdOptions
from etl.ssd.tables import EXTRACT_DATE_FIELDS, TEAM_REFERENCES
from etl.sql import quoted

UNKNOWN_TEAM = "UNKNOWN"
NO_SERVICE = "No service recorded"
NUMBER_RE = r"[+-]?(\d+(\.\d*)?|\.\d+)"  # the contract's plain decimal

MACROS = (
    # "date of" as the contract writes dates, from the text and its timestamp (etl.ssd.reader reads each
    # datetime field once into <field>__ts); an unreadable value goes on as it is, to be rejected
    "CREATE OR REPLACE MACRO ssd_date(v, ts) AS coalesce(strftime(ts, '%Y-%m-%d'), v)",
    "CREATE OR REPLACE MACRO ssd_datetime(v, ts) AS coalesce(strftime(ts, '%Y-%m-%dT%H:%M:%S'), v)",
    """CREATE OR REPLACE MACRO ssd_flag(v) AS
        CASE WHEN lower(v) IN ('y', 'yes', '1', 'true') THEN 'Y' WHEN lower(v) IN ('n', 'no', '0', 'false') THEN 'N' END""",
    "CREATE OR REPLACE MACRO ssd_is_flag(v) AS v IS NULL OR ssd_flag(v) IS NOT NULL",
    # ids compare as integers when both are integers, else as text
    r"CREATE OR REPLACE MACRO ssd_int(v) AS CASE WHEN regexp_full_match(v, '[+-]?\d{1,38}') THEN TRY_CAST(v AS HUGEINT) END",
)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The value rules (dates, flags, ids) as SQL macros on the connection."""
    for macro in MACROS:
        con.execute(macro)


def extract_date(con: duckdb.DuckDBPyConnection, today: dt.date) -> dt.date | None:
    """The latest date of the spec's list that is not after today (None: the SSD holds none)."""
    install_macros(con)
    parts = " UNION ALL ".join(f"SELECT CAST({field}__ts AS DATE) AS d FROM {table}"
                               for table, field in EXTRACT_DATE_FIELDS)
    return con.execute(f"SELECT max(d) FROM ({parts}) WHERE d <= ?", [today]).fetchone()[0]


def map_tables(con: duckdb.DuckDBPyConnection, options: SsdOptions, extract_day: dt.date) -> None:
    """Build `m_<contract table>` (contract columns as text, plus the SSD row's `_line` and `_row`)."""
    install_macros(con)
    _team_references(con, options)
    con.execute(f"SET VARIABLE ssd_extract_day = DATE '{extract_day.isoformat()}'")
    con.execute(_TEAMS)
    con.execute(_WORKERS.format(role=_role_case(options), fte=_FTE, fte_ok=_FTE_OK))
    con.execute(_CHILDREN)
    con.execute(_REFERRALS)
    con.execute(_ASSESSMENTS)
    con.execute(_S47)
    allocated = " OR ".join(f"starts_with(upper(r), {quoted(p.upper())})" for p in options.allocated_roles)
    con.execute(f"CREATE OR REPLACE MACRO ssd_allocated(r) AS coalesce({allocated}, false)")
    con.execute(_ALLOCATIONS)
    con.execute(_EPISODE_TEAMS)
    con.execute(_EPISODES)
    con.execute(_MISSING)


def _team_references(con: duckdb.DuckDBPyConnection, options: SsdOptions) -> None:
    """`team_refs`: every distinct team reference and the team id it resolves to (itself when it does not),
    and `team_services`: the configured team -> service map."""
    refs = " UNION ".join(f"SELECT {field} AS ref FROM {table}" for table, field in TEAM_REFERENCES)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE team_refs AS
            WITH refs AS (SELECT DISTINCT ref FROM ({refs}) WHERE ref IS NOT NULL),
            ids AS (SELECT DISTINCT dept_team_id AS id FROM ssd_department WHERE dept_team_id IS NOT NULL),
            names AS (
                SELECT lower(dept_team_name) AS name, count(DISTINCT dept_team_id) AS teams, min(dept_team_id) AS id,
                       string_agg(DISTINCT dept_team_id, ', ' ORDER BY dept_team_id) AS ids
                FROM ssd_department WHERE dept_team_name IS NOT NULL AND dept_team_id IS NOT NULL GROUP BY 1)
            SELECT r.ref,
                   CASE WHEN i.id IS NOT NULL THEN r.ref WHEN n.teams = 1 THEN n.id ELSE r.ref END AS team_id,
                   i.id IS NULL AND coalesce(n.teams, 0) <> 1 AS unresolved,
                   CASE WHEN i.id IS NULL AND n.teams > 1 THEN n.ids END AS ambiguous_ids
            FROM refs r LEFT JOIN ids i ON i.id = r.ref LEFT JOIN names n ON n.name = lower(r.ref)"""
    )
    con.execute("CREATE OR REPLACE TEMP TABLE team_services (team VARCHAR, service VARCHAR)")
    if options.team_services:
        con.executemany("INSERT INTO team_services VALUES (?, ?)", list(options.team_services.items()))


def _role_case(options: SsdOptions) -> str:
    title = "lower(p.prof_professional_job_title)"
    whens = " ".join(
        f"WHEN {' OR '.join(f'contains({title}, {quoted(w)})' for w in words)} THEN {quoted(role)}"
        for words, role in options.job_titles
    )
    return f"CASE {whens} ELSE 'other' END"


def _resolved(column: str, alias: str) -> str:
    """SQL for a team reference resolved through the join `team_refs {alias}`."""
    return f"coalesce({alias}.team_id, {column})"


_TEAMS = f"""
CREATE OR REPLACE TEMP TABLE m_teams AS
SELECT d._line, d._row, d.dept_team_id AS team_id, d.dept_team_name AS team_name,
       coalesce((SELECT min(s.service) FROM team_services s WHERE s.team = d.dept_team_id),
                (SELECT min(s.service) FROM team_services s WHERE lower(s.team) = lower(d.dept_team_name)),
                d.dept_team_parent_name, d.dept_team_parent_id, '{NO_SERVICE}') AS service
FROM ssd_department d"""

_FTE_OK = """isfinite(TRY_CAST(p.prof_full_time_equivalency AS DOUBLE))
                  AND TRY_CAST(p.prof_full_time_equivalency AS DOUBLE) > 0
                  AND TRY_CAST(p.prof_full_time_equivalency AS DOUBLE) <= 1"""
_FTE = f"""CASE WHEN {_FTE_OK}
             THEN CASE WHEN regexp_full_match(p.prof_full_time_equivalency, '{NUMBER_RE}') THEN p.prof_full_time_equivalency
                       ELSE CAST(CAST(TRY_CAST(p.prof_full_time_equivalency AS DOUBLE) AS DECIMAL(18, 12)) AS VARCHAR) END
             ELSE '1' END"""

_WORKERS = """
CREATE OR REPLACE TEMP TABLE m_workers AS
SELECT p._line, p._row, p.prof_professional_id AS worker_id, p.prof_professional_name AS worker_name,
       """ + _resolved("p.prof_professional_department", "t") + """ AS team_id,
       {role} AS role,
       CASE WHEN p.prof_social_worker_registration_no IS NOT NULL THEN 'Y' ELSE 'N' END AS qualified,
       {fte} AS fte,
       ssd_flag(p.prof_agency_worker_flag) AS agency, NULL::VARCHAR AS start_date, NULL::VARCHAR AS end_date,
       NOT coalesce({fte_ok}, false) AS _fte_defaulted
FROM ssd_professionals p LEFT JOIN team_refs t ON t.ref = p.prof_professional_department"""

_CHILDREN = """
CREATE OR REPLACE TEMP TABLE m_children AS
WITH disabled AS (
    SELECT disa_person_id AS id, bool_or(disa_disability_code IS NOT NULL AND upper(disa_disability_code) <> 'NONE') AS yes
    FROM ssd_disability WHERE disa_person_id IS NOT NULL GROUP BY 1)
SELECT p._line, p._row, p.pers_person_id AS child_id, ssd_date(p.pers_dob, p.pers_dob__ts) AS date_of_birth,
       CASE WHEN upper(p.pers_sex) IN ('M', 'F', 'U', 'N') THEN upper(p.pers_sex) ELSE 'U' END AS gender,
       p.pers_ethnicity AS ethnicity, CASE WHEN d.yes THEN 'Y' ELSE 'N' END AS disability
FROM ssd_person p LEFT JOIN disabled d ON d.id = p.pers_person_id"""

_REFERRALS = """
CREATE OR REPLACE TEMP TABLE m_referrals AS
SELECT e._line, e._row, e.cine_referral_id AS referral_id, e.cine_person_id AS child_id,
       ssd_date(e.cine_referral_date, e.cine_referral_date__ts) AS referral_date, e.cine_referral_source_code AS source,
       ssd_flag(e.cine_referral_nfa) AS nfa, """ + _resolved("e.cine_referral_team", "t") + """ AS team_id,
       e.cine_referral_worker_id AS worker_id
FROM ssd_cin_episodes e LEFT JOIN team_refs t ON t.ref = e.cine_referral_team"""

_ASSESSMENTS = """
CREATE OR REPLACE TEMP TABLE m_assessments AS
SELECT a._line, a._row, a.cina_assessment_id AS assessment_id, a.cina_person_id AS child_id,
       a.cina_referral_id AS referral_id,
       ssd_date(a.cina_assessment_start_date, a.cina_assessment_start_date__ts) AS start_date,
       ssd_date(a.cina_assessment_auth_date, a.cina_assessment_auth_date__ts) AS authorised_date,
       """ + _resolved("a.cina_assessment_team", "t") + """ AS team_id, a.cina_assessment_worker_id AS worker_id
FROM ssd_cin_assessments a LEFT JOIN team_refs t ON t.ref = a.cina_assessment_team"""

# An enquiry's ICPC: the earliest conference date of its conferences. A conference date that cannot be
# read is passed on (so the enquiry is rejected for it) rather than passed over.
_S47 = """
CREATE OR REPLACE TEMP TABLE m_s47 AS
WITH c AS (
    SELECT icpc_s47_enquiry_id AS s47, _line, _row, icpc_icpc_date AS raw, CAST(icpc_icpc_date__ts AS DATE) AS day
    FROM ssd_initial_cp_conference WHERE icpc_s47_enquiry_id IS NOT NULL),
conf AS (
    SELECT s47,
           arg_min(raw, _line) FILTER (WHERE raw IS NOT NULL AND day IS NULL) AS bad,
           min(day) AS first_day,
           arg_min(_line, {'d': day, 'l': _line}) FILTER (WHERE day IS NOT NULL) AS first_line,
           arg_min(_row, {'d': day, 'l': _line}) FILTER (WHERE day IS NOT NULL) AS first_row,
           min(_line) FILTER (WHERE raw IS NOT NULL AND day IS NULL) AS bad_line,
           arg_min(_row, _line) FILTER (WHERE raw IS NOT NULL AND day IS NULL) AS bad_row,
           min(_line) AS any_line, arg_min(_row, _line) AS any_row
    FROM c GROUP BY s47)
SELECT s._line, s._row, s.s47e_s47_enquiry_id AS s47_id, s.s47e_person_id AS child_id,
       ssd_date(s.s47e_s47_start_date, s.s47e_s47_start_date__ts) AS strategy_date,
       ssd_date(s.s47e_s47_end_date, s.s47e_s47_end_date__ts) AS completed_date,
       CASE WHEN c.s47 IS NOT NULL THEN 'Y' WHEN s.s47e_s47_end_date IS NOT NULL THEN 'N' END AS icpc_required,
       coalesce(c.bad, strftime(c.first_day, '%Y-%m-%d')) AS icpc_date,
       """ + _resolved("s.s47e_s47_completed_by_team", "t") + """ AS team_id,
       s.s47e_s47_completed_by_worker_id AS worker_id,
       CASE WHEN c.bad IS NOT NULL THEN c.bad_line WHEN c.first_day IS NOT NULL THEN c.first_line ELSE c.any_line END
           AS _icpc_line,
       CASE WHEN c.bad IS NOT NULL THEN c.bad_row WHEN c.first_day IS NOT NULL THEN c.first_row ELSE c.any_row END
           AS _icpc_row
FROM ssd_s47_enquiry s
LEFT JOIN conf c ON c.s47 = s.s47e_s47_enquiry_id
LEFT JOIN team_refs t ON t.ref = s.s47e_s47_completed_by_team"""

_ALLOCATIONS = """
CREATE OR REPLACE TEMP TABLE m_allocations AS
SELECT i._line, i._row, i.invo_involvements_id AS allocation_id, i.invo_person_id AS child_id,
       i.invo_professional_id AS worker_id,
       ssd_date(i.invo_involvement_start_date, i.invo_involvement_start_date__ts) AS start_date,
       ssd_date(i.invo_involvement_end_date, i.invo_involvement_end_date__ts) AS end_date
FROM ssd_involvements i WHERE ssd_allocated(i.invo_professional_role_id)"""

# An episode's current team (ssd-source.md): of its allocated involvements with a team that started
# on or before the extract date, the latest start, then the greatest involvement id; else the
# referral's team; else UNKNOWN. An episode whose dates cannot be read is open on no date.
_EPISODE_TEAMS = """
CREATE OR REPLACE TEMP TABLE ep_teams AS
WITH ep AS (
    SELECT e._line, e.cine_referral_id AS id, e.cine_person_id AS child,
           CAST(e.cine_referral_date__ts AS DATE) AS s, CAST(e.cine_close_date__ts AS DATE) AS e,
           CAST(e.cine_referral_date__ts AS DATE) IS NULL
               OR (e.cine_close_date IS NOT NULL AND CAST(e.cine_close_date__ts AS DATE) IS NULL) AS unreadable,
           """ + _resolved("e.cine_referral_team", "t") + """ AS referral_team
    FROM ssd_cin_episodes e LEFT JOIN team_refs t ON t.ref = e.cine_referral_team),
inv AS (
    SELECT i.invo_involvements_id AS id, i.invo_referral_id AS referral, i.invo_person_id AS child,
           CAST(i.invo_involvement_start_date__ts AS DATE) AS s, CAST(i.invo_involvement_end_date__ts AS DATE) AS e,
           i.invo_involvement_end_date IS NULL AS open,
           """ + _resolved("i.invo_professional_team", "t") + """ AS team
    FROM ssd_involvements i LEFT JOIN team_refs t ON t.ref = i.invo_professional_team
    WHERE ssd_allocated(i.invo_professional_role_id) AND i.invo_professional_team IS NOT NULL
      AND CAST(i.invo_involvement_start_date__ts AS DATE) <= getvariable('ssd_extract_day')),
cand AS (
    SELECT ep._line, inv.s, inv.id, inv.team FROM ep JOIN inv ON inv.referral = ep.id
    UNION ALL
    SELECT ep._line, inv.s, inv.id, inv.team FROM ep JOIN inv ON inv.referral IS NULL AND inv.child = ep.child
    WHERE NOT ep.unreadable AND (ep.e IS NULL OR inv.s <= ep.e) AND (inv.open OR inv.e >= ep.s)),
ranked AS (
    SELECT _line, team, s, id, bool_and(ssd_int(id) IS NOT NULL) OVER (PARTITION BY _line, s) AS ints FROM cand),
chosen AS (
    SELECT _line, team FROM ranked
    QUALIFY row_number() OVER (PARTITION BY _line ORDER BY s DESC,
                                CASE WHEN ints THEN ssd_int(id) END DESC NULLS LAST, id DESC NULLS LAST) = 1)
SELECT ep._line, ep.id, ep.child, ep.s, ep.e, ep.unreadable,
       coalesce(c.team, ep.referral_team, 'UNKNOWN') AS team, c.team IS NULL AND ep.referral_team IS NULL AS no_team
FROM ep LEFT JOIN chosen c USING (_line)"""

_EPISODES = """
CREATE OR REPLACE TEMP TABLE m_episodes AS
SELECT e._line, e._row, e.cine_referral_id AS episode_id, e.cine_person_id AS child_id, 'CIN' AS episode_type,
       ssd_date(e.cine_referral_date, e.cine_referral_date__ts) AS start_date,
       ssd_date(e.cine_close_date, e.cine_close_date__ts) AS end_date, t.team AS team_id
FROM ssd_cin_episodes e JOIN ep_teams t USING (_line)"""

# A missing episode's team: that of the child's episode open on its start date (the latest start, then
# the greatest episode id), else empty.
_MISSING = """
CREATE OR REPLACE TEMP TABLE m_missing AS
WITH m AS (SELECT *, CAST(miss_missing_episode_start_date__ts AS DATE) AS day FROM ssd_missing),
cand AS (
    SELECT m._line, e.team, e.s, e.id, bool_and(ssd_int(e.id) IS NOT NULL) OVER (PARTITION BY m._line, e.s) AS ints
    FROM m JOIN ep_teams e ON e.child = m.miss_person_id
    WHERE NOT e.unreadable AND e.s <= m.day AND (e.e IS NULL OR e.e > m.day)),
chosen AS (
    SELECT _line, team FROM cand
    QUALIFY row_number() OVER (PARTITION BY _line ORDER BY s DESC,
                                CASE WHEN ints THEN ssd_int(id) END DESC NULLS LAST, id DESC NULLS LAST) = 1)
SELECT m._line, m._row, m.miss_table_id AS missing_id, m.miss_person_id AS child_id,
       ssd_datetime(m.miss_missing_episode_start_date, m.miss_missing_episode_start_date__ts) AS start_time,
       ssd_datetime(m.miss_missing_episode_end_date, m.miss_missing_episode_end_date__ts) AS end_time,
       NULL::VARCHAR AS rhi_offered_time,
       ssd_flag(m.miss_missing_rhi_accepted) AS rhi_accepted, c.team AS team_id
FROM m LEFT JOIN chosen c USING (_line)"""

# contract table -> the mapped table holding its rows
MAPPED = {
    "teams": "m_teams", "workers": "m_workers", "children": "m_children", "referrals": "m_referrals",
    "assessments": "m_assessments", "s47_enquiries": "m_s47", "episodes": "m_episodes",
    "allocations": "m_allocations", "missing_episodes": "m_missing",
}
