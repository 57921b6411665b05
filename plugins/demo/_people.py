"""One record's identity, drawn once and shared by its fields: a person, a company, a city.

A contact's e-mail is made from its name, a company's web site from its trade name, the
province is the city's province. Chinese records (``zh``) use Chinese names, cities and
mobile numbers; the others English names and cities around the world.
"""

from __future__ import annotations

import random

from . import _vocabulary as v

#: (legal name, web domain, short name) of a company, (city, province, country) of a place
Identity = tuple[tuple[str, str, str] | None, tuple[str, str, str] | None]

_ZH_AREA_CODES = ("10", "21", "20", "755", "571", "28", "25", "27", "23", "22")


def skewed_index(rng: random.Random, length: int, power: float = 1.6) -> int:
    """An index in ``range(length)`` favouring the front (lists are ordered by frequency)."""
    return min(int(length * rng.random() ** power), length - 1)


class RecordContext:
    """What the field generators of one record share; reset for every record."""

    __slots__ = (
        "_city",
        "_company",
        "_person",
        "created",
        "hints",
        "now",
        "owner",
        "rng",
        "seq",
        "users",
        "weight",
        "zh",
    )

    def __init__(self, rng: random.Random, now: float, hints: frozenset[str]) -> None:
        self.rng = rng
        self.now = now
        self.hints = hints
        self.zh = True
        self.created = now
        self.weight = 1.0
        self.seq = 0
        self.owner: str | None = None
        #: the names of the team, for fields that name a colleague
        self.users: tuple[str, ...] = ()
        self._person: tuple[str, str, str, str] | None = None
        self._company: tuple[str, str, str] | None = None
        self._city: tuple[str, str, str] | None = None

    def reset(
        self, *, zh: bool, created: float, weight: float, seq: int, owner: str | None, identity: Identity | None = None
    ) -> None:
        """Start a record; ``identity`` is the main parent's company and city (a contact
        works at its account: same e-mail domain, same city)."""
        self.zh = zh
        self.created = created
        self.weight = weight
        self.seq = seq
        self.owner = owner
        self._person = None
        self._company, self._city = identity if identity is not None else (None, None)

    @property
    def identity(self) -> Identity | None:
        """The company and city this record used (for its children), if any."""
        if self._company is None and self._city is None:
            return None
        return self._company, self._city

    # -- a person ---------------------------------------------------------------------------
    def person(self) -> tuple[str, str, str, str]:
        """(full name, e-mail local part, given name, family name)."""
        if self._person is None:
            rng = self.rng
            if self.zh:
                surname, s_py = v.ZH_SURNAMES[skewed_index(rng, len(v.ZH_SURNAMES))]
                given, g_py = v.ZH_GIVEN[rng.randrange(len(v.ZH_GIVEN))]
                style = rng.random()
                if style < 0.5:
                    local = f"{s_py}.{g_py}"
                elif style < 0.75:
                    local = f"{g_py}{s_py}"
                else:
                    local = f"{s_py}{g_py}{rng.randint(1, 99)}"
                self._person = (surname + given, local, given, surname)
            else:
                first = v.EN_FIRST[rng.randrange(len(v.EN_FIRST))]
                last = v.EN_LAST[rng.randrange(len(v.EN_LAST))]
                local = f"{first}.{last}".lower() if rng.random() < 0.7 else f"{first[0]}{last}".lower()
                self._person = (f"{first} {last}", local, first, last)
        return self._person

    # -- a company ----------------------------------------------------------------------------
    def company(self) -> tuple[str, str, str]:
        """(legal name, web domain, short name)."""
        if self._company is None:
            rng = self.rng
            if self.zh:
                city = self.city()[0]
                trade, py = v.ZH_TRADE_NAMES[rng.randrange(len(v.ZH_TRADE_NAMES))]
                industry = v.ZH_INDUSTRY_WORDS[rng.randrange(len(v.ZH_INDUSTRY_WORDS))]
                suffix = v.ZH_COMPANY_SUFFIXES[rng.randrange(len(v.ZH_COMPANY_SUFFIXES))]
                tld = ".com.cn" if rng.random() < 0.5 else ".com"
                self._company = (f"{city}{trade}{industry}{suffix}", f"{py}{tld}", f"{trade}{industry}")
            else:
                word = v.EN_COMPANY_WORDS[rng.randrange(len(v.EN_COMPANY_WORDS))]
                industry = v.EN_INDUSTRY_WORDS[rng.randrange(len(v.EN_INDUSTRY_WORDS))]
                suffix = v.EN_COMPANY_SUFFIXES[rng.randrange(len(v.EN_COMPANY_SUFFIXES))]
                domain = f"{word}{industry}".lower() + (".com" if rng.random() < 0.8 else ".io")
                self._company = (f"{word} {industry} {suffix}", domain, f"{word} {industry}")
        return self._company

    def hospital(self) -> str:
        """A hospital's name (it becomes the record's company: its staff mail there)."""
        if self._company is None:
            rng = self.rng
            city, _province, _country = self.city()
            py = v.ZH_TRADE_NAMES[rng.randrange(len(v.ZH_TRADE_NAMES))][1]
            if self.zh:
                kind = v.HOSPITAL_KINDS_ZH[skewed_index(rng, len(v.HOSPITAL_KINDS_ZH))]
                self._company = (f"{city}市{kind}", f"{py}-hospital.cn", f"{city}{kind[:2]}")
            else:
                kind = v.HOSPITAL_KINDS_EN[skewed_index(rng, len(v.HOSPITAL_KINDS_EN))]
                self._company = (f"{city} {kind}", f"{py}-health.org", f"{city} {kind}")
        return self._company[0]

    def store(self) -> str:
        """A store's name (it becomes the record's company)."""
        if self._company is None:
            rng = self.rng
            trade, py = v.ZH_TRADE_NAMES[rng.randrange(len(v.ZH_TRADE_NAMES))]
            if self.zh:
                kind = v.STORE_KINDS_ZH[rng.randrange(len(v.STORE_KINDS_ZH))]
                district = v.ZH_DISTRICTS[rng.randrange(len(v.ZH_DISTRICTS))]
                self._company = (f"{trade}{kind}({self.city()[0]}{district})", f"{py}.com.cn", f"{trade}{kind}")
            else:
                word = v.EN_COMPANY_WORDS[rng.randrange(len(v.EN_COMPANY_WORDS))]
                kind = v.STORE_KINDS_EN[rng.randrange(len(v.STORE_KINDS_EN))]
                self._company = (f"{word} {kind} {self.city()[0]}", f"{word.lower()}stores.com", f"{word} {kind}")
        return self._company[0]

    # -- a place ----------------------------------------------------------------------------------
    def city(self) -> tuple[str, str, str]:
        """(city, province or country, country)."""
        if self._city is None:
            rng = self.rng
            if self.zh:
                city, _py, province, _en = v.ZH_CITIES[skewed_index(rng, len(v.ZH_CITIES), 1.4)]
                self._city = (city, province, "中国")
            else:
                city, country = v.WORLD_CITIES[skewed_index(rng, len(v.WORLD_CITIES), 1.2)]
                self._city = (city, country, country)
        return self._city

    def address(self) -> str:
        rng = self.rng
        city = self.city()[0]
        if self.zh:
            district = v.ZH_DISTRICTS[rng.randrange(len(v.ZH_DISTRICTS))]
            road = v.ZH_ROADS[rng.randrange(len(v.ZH_ROADS))]
            return f"{self.city()[1]}{city}{district}{road}{rng.randint(1, 999)}号"
        street = v.EN_STREETS[rng.randrange(len(v.EN_STREETS))]
        kind = v.EN_STREET_KINDS[rng.randrange(len(v.EN_STREET_KINDS))]
        return f"{rng.randint(1, 480)} {street} {kind}, {city}"

    # -- contact details -------------------------------------------------------------------------
    def mobile(self) -> str:
        rng = self.rng
        if self.zh:
            prefix = v.ZH_MOBILE_PREFIXES[rng.randrange(len(v.ZH_MOBILE_PREFIXES))]
            return f"+86 {prefix} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"
        code, digits = v.WORLD_PHONES[skewed_index(rng, len(v.WORLD_PHONES))]
        number = f"{rng.randint(10 ** (digits - 1), 10**digits - 1)}"
        return f"{code} {number[:3]} {number[3:6]} {number[6:]}"

    def landline(self) -> str:
        rng = self.rng
        if self.zh:
            area = _ZH_AREA_CODES[skewed_index(rng, len(_ZH_AREA_CODES))]
            return f"+86 {area} {rng.randint(5000, 8999)} {rng.randint(0, 9999):04d}"
        return self.mobile()

    def personal_email(self) -> str:
        domains = v.PERSONAL_MAIL_ZH if self.zh else v.PERSONAL_MAIL_EN
        return f"{self.person()[1]}@{domains[skewed_index(self.rng, len(domains))]}"

    def work_email(self) -> str:
        return f"{self.person()[1]}@{self.company()[1]}"
