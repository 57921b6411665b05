"""Word lists the demo values are drawn from: names, places, companies, products, notes.

The lists themselves are data, in ``vocabulary.json`` beside this module (each with what it
is for); this module gives them their types. Chinese entries carry their pinyin so that
e-mail addresses, web sites and user names can be derived from them. Lists are ordered
roughly by frequency where that matters (surnames, cities): pickers skew towards the front.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_DATA: dict[str, Any] = json.loads(resources.files(__package__).joinpath("vocabulary.json").read_text("utf-8"))


def _frozen(value: Any) -> Any:
    """JSON lists as tuples (nested), mappings kept in their order."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _words(name: str) -> Any:
    return _frozen(_DATA[name]["values"])


# -- people ---------------------------------------------------------------------------------------
#: The most common Chinese surnames, most frequent first, with pinyin.
ZH_SURNAMES: tuple[tuple[str, str], ...] = _words("ZH_SURNAMES")
#: Given names (one or two characters) with pinyin.
ZH_GIVEN: tuple[tuple[str, str], ...] = _words("ZH_GIVEN")
EN_FIRST: tuple[str, ...] = _words("EN_FIRST")
EN_LAST: tuple[str, ...] = _words("EN_LAST")
JOB_TITLES_ZH: tuple[str, ...] = _words("JOB_TITLES_ZH")
JOB_TITLES_EN: tuple[str, ...] = _words("JOB_TITLES_EN")
DEPARTMENTS_ZH: tuple[str, ...] = _words("DEPARTMENTS_ZH")
DEPARTMENTS_EN: tuple[str, ...] = _words("DEPARTMENTS_EN")
HOSPITAL_DEPARTMENTS_ZH: tuple[str, ...] = _words("HOSPITAL_DEPARTMENTS_ZH")
HOSPITAL_DEPARTMENTS_EN: tuple[str, ...] = _words("HOSPITAL_DEPARTMENTS_EN")

# -- places ---------------------------------------------------------------------------------------
#: (city, pinyin, province, province in English), biggest markets first.
ZH_CITIES: tuple[tuple[str, str, str, str], ...] = _words("ZH_CITIES")
#: (city, country) outside China.
WORLD_CITIES: tuple[tuple[str, str], ...] = _words("WORLD_CITIES")
#: (province, in English), from the cities above, for territories
PROVINCES: tuple[tuple[str, str], ...] = tuple(dict.fromkeys((p, en) for _c, _py, p, en in ZH_CITIES))
#: Mobile prefixes of the three Chinese carriers.
ZH_MOBILE_PREFIXES: tuple[str, ...] = _words("ZH_MOBILE_PREFIXES")
#: (country calling code, digits after it) for numbers outside China.
WORLD_PHONES: tuple[tuple[str, int], ...] = _words("WORLD_PHONES")
ZH_DISTRICTS: tuple[str, ...] = _words("ZH_DISTRICTS")
ZH_ROADS: tuple[str, ...] = _words("ZH_ROADS")
EN_STREETS: tuple[str, ...] = _words("EN_STREETS")
EN_STREET_KINDS: tuple[str, ...] = _words("EN_STREET_KINDS")
REGIONS_ZH: tuple[str, ...] = _words("REGIONS_ZH")
REGIONS_EN: tuple[str, ...] = _words("REGIONS_EN")

# -- companies ------------------------------------------------------------------------------------
#: Trade names (字号) with pinyin, for company names, web sites and e-mail domains.
ZH_TRADE_NAMES: tuple[tuple[str, str], ...] = _words("ZH_TRADE_NAMES")
ZH_INDUSTRY_WORDS: tuple[str, ...] = _words("ZH_INDUSTRY_WORDS")
ZH_COMPANY_SUFFIXES: tuple[str, ...] = _words("ZH_COMPANY_SUFFIXES")
EN_COMPANY_WORDS: tuple[str, ...] = _words("EN_COMPANY_WORDS")
EN_INDUSTRY_WORDS: tuple[str, ...] = _words("EN_INDUSTRY_WORDS")
EN_COMPANY_SUFFIXES: tuple[str, ...] = _words("EN_COMPANY_SUFFIXES")
HOSPITAL_KINDS_ZH: tuple[str, ...] = _words("HOSPITAL_KINDS_ZH")
STORE_KINDS_ZH: tuple[str, ...] = _words("STORE_KINDS_ZH")
HOSPITAL_KINDS_EN: tuple[str, ...] = _words("HOSPITAL_KINDS_EN")
STORE_KINDS_EN: tuple[str, ...] = _words("STORE_KINDS_EN")
PERSONAL_MAIL_ZH: tuple[str, ...] = _words("PERSONAL_MAIL_ZH")
PERSONAL_MAIL_EN: tuple[str, ...] = _words("PERSONAL_MAIL_EN")

# -- products, deals, work ------------------------------------------------------------------------
#: Product names by industry hint (a word of the preset name or of the entity).
PRODUCTS: dict[str, tuple[tuple[str, str], ...]] = _words("PRODUCTS")
PROJECT_WORDS_ZH: tuple[str, ...] = _words("PROJECT_WORDS_ZH")
PROJECT_WORDS_EN: tuple[str, ...] = _words("PROJECT_WORDS_EN")
CAMPAIGNS_ZH: tuple[str, ...] = _words("CAMPAIGNS_ZH")
CAMPAIGNS_EN: tuple[str, ...] = _words("CAMPAIGNS_EN")
SUBJECTS_ZH: tuple[str, ...] = _words("SUBJECTS_ZH")
SUBJECTS_EN: tuple[str, ...] = _words("SUBJECTS_EN")
COMPLAINTS_ZH: tuple[str, ...] = _words("COMPLAINTS_ZH")
COMPLAINTS_EN: tuple[str, ...] = _words("COMPLAINTS_EN")
NOTES_ZH: tuple[str, ...] = _words("NOTES_ZH")
NOTES_EN: tuple[str, ...] = _words("NOTES_EN")
DOSAGE_FORMS_ZH: tuple[str, ...] = _words("DOSAGE_FORMS_ZH")
DOSAGE_FORMS_EN: tuple[str, ...] = _words("DOSAGE_FORMS_EN")
UNITS_ZH: tuple[str, ...] = _words("UNITS_ZH")
UNITS_EN: tuple[str, ...] = _words("UNITS_EN")
CATEGORIES_ZH: tuple[str, ...] = _words("CATEGORIES_ZH")
CATEGORIES_EN: tuple[str, ...] = _words("CATEGORIES_EN")
NEXT_STEPS_ZH: tuple[str, ...] = _words("NEXT_STEPS_ZH")
NEXT_STEPS_EN: tuple[str, ...] = _words("NEXT_STEPS_EN")
PAYMENT_TERMS_ZH: tuple[str, ...] = _words("PAYMENT_TERMS_ZH")
PAYMENT_TERMS_EN: tuple[str, ...] = _words("PAYMENT_TERMS_EN")
SOURCES_ZH: tuple[str, ...] = _words("SOURCES_ZH")
SOURCES_EN: tuple[str, ...] = _words("SOURCES_EN")
REASONS_ZH: tuple[str, ...] = _words("REASONS_ZH")
REASONS_EN: tuple[str, ...] = _words("REASONS_EN")
#: Tier names for level-like lookup entities, lowest first.
TIERS_ZH: tuple[str, ...] = _words("TIERS_ZH")
TIERS_EN: tuple[str, ...] = _words("TIERS_EN")
