"""Distribution weights for the generator, approximating Nextier's published NVCD export.

Derived once by studying the real file and rounded: a handful of shares per state, crisis
type and source, the actors typical of each crisis type, and log-normal fits of casualty
sizes. No rows or text of the export are here. ``MESS_RATES`` are the generator's own
documented rates of messiness (each a share of events).
"""

from __future__ import annotations

# Share of events per state (by naija-data state code), approximating the published database.
STATE_SHARES: dict[str, float] = {
    "KD": 0.102, "PL": 0.084, "ZA": 0.065, "BE": 0.055, "BO": 0.054, "NI": 0.051, "KT": 0.048,
    "AN": 0.045, "IM": 0.041, "DE": 0.031, "SO": 0.028, "RI": 0.026, "ON": 0.026, "EN": 0.026,
    "OG": 0.024, "ED": 0.024, "FC": 0.023, "KO": 0.023, "LA": 0.021, "KW": 0.021, "EB": 0.020,
    "OS": 0.017, "OY": 0.016, "TA": 0.015, "NA": 0.014, "AB": 0.013, "BA": 0.012, "BY": 0.011,
    "KE": 0.010, "AK": 0.009, "EK": 0.009, "AD": 0.008, "YO": 0.007, "CR": 0.007, "JI": 0.006,
    "KN": 0.006, "GO": 0.003,
}  # fmt: skip
# Share of events per crisis type, and the typical first actor of each (approximate).
CRISIS_SHARES: dict[str, float] = {
    "Banditry": 0.35, "Gunmen Attacks": 0.255, "Farmer-Herder Conflict": 0.074, "Kidnapping": 0.069,
    "Terrorism": 0.062, "Cult Clashes": 0.055, "Group Violence": 0.034, "Extra-Judicial Killings": 0.032,
    "Armed Robbery": 0.029, "Secessionism": 0.019, "Communal Clash": 0.015, "Maritime Piracy": 0.003,
    "Civil Unrest": 0.002, "Thuggery": 0.002,
}  # fmt: skip
ACTOR_SHARES: dict[str, dict[str, float]] = {
    "Banditry": {"Bandits": 0.7, "Security Forces": 0.25, "Informal Security Actors": 0.05},
    "Gunmen Attacks": {"Gunmen": 0.85, "Hoodlums": 0.1, "IPOB/ESN": 0.05},
    "Farmer-Herder Conflict": {"Herder(s)": 0.85, "Farmer(s)": 0.15},
    "Kidnapping": {"Kidnappers": 0.85, "Gunmen": 0.15},
    "Terrorism": {"Boko Haram": 0.4, "ISWAP": 0.25, "Security Forces": 0.35},
    "Cult Clashes": {"Cultists": 1.0},
    "Group Violence": {"Mob": 0.4, "Hoodlums": 0.3, "Ethnic Groups": 0.2, "Protesters": 0.1},
    "Extra-Judicial Killings": {"Security Forces": 0.5, "Mob": 0.4, "Ritualists": 0.1},
    "Armed Robbery": {"Armed Robber(s)": 0.95, "Gunmen": 0.05},
    "Secessionism": {"IPOB/ESN": 0.6, "Security Forces": 0.4},
    "Communal Clash": {"Ethnic Groups": 0.6, "Civilian(s)": 0.4},
    "Maritime Piracy": {"Maritime Pirates": 1.0},
    "Civil Unrest": {"Protesters": 1.0},
    "Thuggery": {"Hoodlums": 1.0},
}
# Whom the first actor mostly acts against; security forces face the crisis type's armed group.
TARGET_SHARES: dict[str, float] = {"Civilian(s)": 0.8, "Security Forces": 0.12, "Informal Security Actors": 0.04,
                                   "Farmer(s)": 0.04}  # fmt: skip
OPPONENT: dict[str, str] = {"Banditry": "Bandits", "Terrorism": "Boko Haram", "Secessionism": "IPOB/ESN",
                            "Extra-Judicial Killings": "Civilian(s)"}  # fmt: skip
# Share of events per source, with the site its URLs are on ("" = no URL: primary data).
SOURCE_SHARES: dict[str, tuple[float, str]] = {
    "Punch": (0.19, "punchng.com"), "Daily Post": (0.175, "dailypost.ng"), "Vanguard": (0.13, "vanguardngr.com"),
    "Local Source": (0.105, ""), "Premium Times": (0.095, "premiumtimesng.com"),
    "ChannelsTV": (0.055, "channelstv.com"),
    "The Guardian": (0.05, "guardian.ng"), "SaharaReporters": (0.045, "saharareporters.com"),
    "Daily Trust": (0.035, "dailytrust.com"), "The Sun": (0.035, "sunnewsonline.com"),
    "ThisDay": (0.025, "thisdaylive.com"),
    "The Nation": (0.02, "thenationonlineng.net"), "Nigerian Tribune": (0.02, "tribuneonlineng.com"),
    "The Cable": (0.01, "thecable.ng"), "HumAngle": (0.005, "humangle.ng"), "Leadership": (0.005, "leadership.ng"),
}  # fmt: skip
# Casualties: share of events with each count, and log-normal (mu, sigma) of its size.
COUNT_SHAPES: dict[str, tuple[float, float, float]] = {
    "gsa_casualties": (0.085, 0.5, 0.9), "civilian_casualties": (0.67, 0.7, 1.15),
    "injured": (0.13, 0.6, 1.0), "kidnapped": (0.27, 1.0, 1.3), "displaced": (0.002, 5.0, 1.5),
}  # fmt: skip
SPLIT_SHARE = 0.015  # events that split a count by sex
# Messiness, as a share of events (of template/duplicate rows: of n).
MESS_RATES: dict[str, float] = {
    "trailing_space": 0.30, "case_variant": 0.10, "misspelt_lga": 0.02, "dash_apostrophe": 0.01,
    "vague_word": 0.01, "text_in_number": 0.002, "template_row": 0.02, "duplicate_row": 0.002,
    "no_community": 0.08, "no_lga": 0.012, "wrong_state": 0.01,
}  # fmt: skip
