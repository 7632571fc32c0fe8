"""The sample trust's profile: every volume, rate and duration the generator draws from, in one place.

Figures are set so that the KPIs land near the national ones (England 2024-25: 85.7% of assessments
within 45 working days, 81.4% of ICPCs within 15 working days, 22.6% re-referrals, average caseload
15.4) for a trust the size of Sandwell (about 80,000 children, 474 referrals per 10,000 a year).
Where a figure was tuned by running the generator rather than taken from a national source, it says so.
"""

from __future__ import annotations

# --- size --------------------------------------------------------------------------------------------
CHILD_POPULATION = 80_000  # children aged 0-17 in the area at scale 1
REFERRALS_PER_10K = 474  # a year
HISTORY_YEARS = 3  # full years of history ending on the end date
# Simulated years before the history starts, so that children in care (and care leavers up to 25) at
# the first day of the history have the start dates and ages they would really have.
WARMUP_YEARS = 21
# Referrals per child over their childhood; turns the referral volume into a rate of first referrals
# (tuned by running the generator: it follows from the re-referral figures below).
REFERRALS_PER_CHILD = 1.63
WEEKEND_REFERRAL_SHARE = 0.06  # out-of-hours referrals accepted on a weekend or bank holiday

# --- teams (per unit of scale) ---------------------------------------------------------------------------
# kind: (service, team label, teams at scale 1)
TEAM_KINDS: dict[str, tuple[str, str, int]] = {
    "mash": ("Assessment and MASH", "MASH", 1),
    "assessment": ("Assessment and MASH", "Assessment Team", 4),
    "care_management": ("Care Management", "Care Management Team", 5),
    "children_in_care": ("Children in Care", "Children in Care Team", 4),
    "care_leavers": ("Care Leavers", "Care Leavers Team", 2),
    "disabled": ("Disabled Children", "Disabled Children Team", 2),
    "adolescent": ("Adolescent Services", "Adolescent Team", 2),
}
TEAM_SIZE_SPREAD = (0.7, 1.3)  # relative size of localities within a service
TEAM_QUALITY_SD = 0.8  # spread of a team's "quality" z-score; each service also gets a best and a worst
WORST_TEAM_Z = -1.9
BEST_TEAM_Z = 1.5

# --- referral -> assessment -> s47 -> ICPC ------------------------------------------------------------
P_NFA = 0.10  # referral ends in no further action (screened out by the MASH)
P_ASSESSED_BY_MASH = 0.15  # assessments the MASH does itself
P_DISABLED_TEAM_ASSESSMENT = 0.5  # disabled children's assessments done by a disabled children team
ASSESSMENT_START_LAG = ((0, 0.75), (1, 0.15), (2, 0.07), (3, 0.03))  # (calendar days, share)
P_ASSESSMENT_45WD = 0.865  # share authorised within 45 working days, before the team's effect
ASSESSMENT_DEADLINE_RUSH = 0.25  # of those, the share authorised in the last two weeks before day 45
S47_LONG_EXTRA_WD_MEAN = 15  # how far past 15 working days the long enquiries run, on average
TEAM_EFFECT_45WD = 0.06  # per unit of team z-score
P_S47 = 0.30  # assessments with a strategy discussion and section 47 enquiry
P_ICPC = 0.42  # s47 enquiries that lead to an initial child protection conference
P_ICPC_15WD = 0.81
TEAM_EFFECT_ICPC_15WD = 0.07
P_S47_LONG = 0.25  # enquiries without an ICPC that take longer than 15 working days
TEAM_EFFECT_S47_LONG = 0.06
P_CP_PLAN = 0.88  # ICPCs that make a child protection plan

# --- what follows an episode (probabilities of the next episode type) ---------------------------------
AFTER_ASSESSMENT = {"CLA": 0.05, "CIN": 0.30}  # when there was no child protection plan
AFTER_ASSESSMENT_WITH_S47 = {"CLA": 0.07, "CIN": 0.50}
AFTER_CIN = {"CLA": 0.02}
AFTER_CP = {"CIN": 0.45, "CLA": 0.15}
AFTER_CLA = {"CIN": 0.15}  # when the child goes home before 18
P_CARE_LEAVER = 0.92  # children in care for 13 weeks or more who turn 18 in care
P_DISABLED_TEAM_CASE = 0.8  # CIN/CP/CLA episodes of disabled children held by a disabled children team
P_ADOLESCENT_TEAM = 0.5  # CIN/CP episodes of children aged 13+ held by an adolescent team

# --- episode durations in days: (median, log-normal sigma, min, max) ---------------------------------
CIN_DAYS = (150, 0.7, 28, 1100)
CP_DAYS = (240, 0.5, 60, 1200)
CLA_SHORT_SHARE = 0.35
CLA_SHORT_DAYS = (75, 0.8, 3, 365)
CLA_LONG_DAYS = (1100, 0.9, 180, 7000)
CARE_LEAVER_TO_21 = 0.70  # share supported to 21; then to 25, the rest stop earlier
CARE_LEAVER_TO_25 = 0.18
CARE_LEAVER_EARLY_DAYS = (180, 1000)

# --- re-referral: the next referral after a case closes ----------------------------------------------
# (tuned by running the generator to land the re-referral rate near 22%)
P_REREFERRAL = {"nfa": 0.45, "assessment": 0.45, "CIN": 0.38, "CP": 0.32, "CLA": 0.32, "CARE_LEAVER": 0.0}
P_REREFERRAL_SOON = 0.69  # share of those that come back within months rather than years
REREFERRAL_SOON_MEAN_DAYS = 100
REREFERRAL_LATER_DAYS = (365, 5 * 365)

# --- children ----------------------------------------------------------------------------------------
# age at first referral in years: (low, high, share); negative = referred before birth
AGE_AT_FIRST_REFERRAL = ((-0.4, 0.0, 0.02), (0, 1, 0.10), (1, 5, 0.20), (5, 10, 0.26), (10, 16, 0.32), (16, 18, 0.10))
GENDER_SHARES = {"M": 0.51, "F": 0.475, "U": 0.012, "N": 0.003}
P_DISABILITY = 0.09
P_DISABILITY_UNKNOWN = 0.03
ETHNICITY_SHARES = {
    "WBRI": 0.55, "WIRI": 0.005, "WROM": 0.005, "WOTH": 0.04, "MWBC": 0.06, "MWBA": 0.01, "MWAS": 0.015,
    "MOTH": 0.025, "AIND": 0.055, "APKN": 0.06, "ABAN": 0.015, "AOTH": 0.02, "BCRB": 0.03, "BAFR": 0.04,
    "BOTH": 0.01, "CHNE": 0.003, "OOTH": 0.02, "REFU": 0.007, "NOBT": 0.025,
}
P_ETHNICITY_EMPTY = 0.01
# DfE referral source codes (children in need census)
REFERRAL_SOURCE_SHARES = {
    "1A": 0.03, "1B": 0.01, "1C": 0.01, "1D": 0.01, "2A": 0.19, "2B": 0.02, "3A": 0.03, "3B": 0.03,
    "3C": 0.01, "3D": 0.03, "3E": 0.04, "3F": 0.02, "4": 0.02, "5A": 0.06, "5B": 0.03, "5C": 0.02,
    "5D": 0.04, "6": 0.29, "7": 0.01, "8": 0.04, "9": 0.01, "10": 0.03,
}
P_SOURCE_EMPTY = 0.01
P_EMPTY_TEAM = 0.004  # referrals, assessments and missing episodes recorded without a team

# --- workforce -------------------------------------------------------------------------------------------
CASELOAD_TARGET = 16.5  # open children per FTE a team is staffed for, before the team's effect
TEAM_EFFECT_CASELOAD = -1.3  # per unit of team z-score: weaker teams carry more
CASELOAD_TARGET_RANGE = (11.0, 23.0)
P_SENIOR = 0.25  # case-holding social work posts that are senior
P_SOCIAL_WORKER_IN_CARE_LEAVERS = 0.15  # the rest of a care leavers team's case holders are PAs
P_AGENCY = 0.12
TEAM_EFFECT_AGENCY = -0.06
P_PART_TIME = 0.2
PART_TIME_FTE = (0.5, 0.6, 0.8)
P_FAMILY_SUPPORT_WORKER = 0.6  # case-management-type teams with a family support worker
MASH_OTHER_STAFF = 2  # screening officers (role "other") in each MASH team
P_NEW_POST = 0.04  # posts created during the history (first holder starts during it)
P_LEAVE_PERMANENT = 0.13  # over the three years, before the team's effect
TEAM_EFFECT_LEAVE = -0.05
P_LEAVE_AGENCY = 0.35
P_LEAVE_MANAGER = 0.10
P_REPLACEMENT_AGENCY = 0.3
VACANCY_DAYS = (14, 100)

# --- allocation ------------------------------------------------------------------------------------------
ALLOCATION_LAG = ((0, 0.55), (1, 0.15), (2, 0.1), (3, 0.08), (5, 0.06), (8, 0.04), (12, 0.02))
P_LONG_WAIT = 0.02  # episodes that wait weeks for a worker, before the team's effect
TEAM_EFFECT_LONG_WAIT = -0.015
LONG_WAIT_DAYS = (15, 60)
MAX_WAIT_FOR_STARTER_DAYS = 45  # a case waits for the new starter in a vacant post rather than move
HANDOVER_GAP = ((0, 0.6), (1, 0.1), (3, 0.1), (7, 0.1), (14, 0.1))  # days from a leaver to the next worker
P_DANGLING = 0.015  # cases not moved when their worker leaves (the allocation stays on the leaver)
P_DANGLING_AT_END = 0.03  # of the moved cases still open at the end date, at least one stays on the leaver
LEGACY_ALLOCATION_DAYS = 600  # cases open before the history: held by the current worker for up to this
P_COWORKED = 0.04  # CP and CLA episodes with a second worker for a while
COWORK_DAYS = (30, 240)

# --- missing episodes ------------------------------------------------------------------------------------
MISSING_AGE = (10, 18)  # ages at which children go missing in the sample
P_MISSING_PRONE = {"CLA": 0.30, "CIN": 0.07, "CP": 0.07}
MISSING_RATE_GAMMA = (1.5, 3.2)  # episodes a year for a child who goes missing (gamma shape, scale)
MISSING_SHORT_SHARE = 0.88
MISSING_SHORT_HOURS = (7.0, 0.9, 0.5, 48.0)  # median, sigma, min, max
MISSING_DAYS_SHARE = 0.11  # 1-7 days; the rest are away 8-45 days
MISSING_NOW_PER_SCALE = 4  # children planted as missing at the end date
P_RHI_72H = 0.86
TEAM_EFFECT_RHI_72H = 0.06
P_RHI_NEVER = 0.04
P_RHI_ACCEPTED = 0.65
# hour-of-day weights for going missing (evening peak)
MISSING_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 4, 5, 6, 7, 7, 6, 5, 3, 2)

# --- the audit programme (qa-audits.md) -----------------------------------------------------------------
# (set by judgement: each team manager audits a few files a month; no national figures exist)
AUDITS_PER_TEAM_MONTH = 3
AUDIT_TYPE_SHARES = (0.7, 0.12, 0.04, 0.06, 0.05, 0.03)  # learning, thematic, benchmarking, multi_agency, supervision, re_audit
AUDIT_DUE_DAYS = 28  # due four weeks after it is assigned
P_AUDIT_LATE = 0.12  # before the team's effect
TEAM_EFFECT_AUDIT_LATE = 0.07  # per unit of team z-score: stronger teams are late less often
AUDIT_LATE_MEAN_DAYS = 12
AUDIT_GRADE_TEAM_WEIGHT = 0.6  # how much of a file's grade is the team's quality
P_AUDIT_MODERATED = 0.25  # the sample a service manager moderates
P_MODERATION_AGREES = 0.78
ACTION_DUE_DAYS = (14, 28, 28, 42, 56)
P_ACTION_LATE = 0.2
