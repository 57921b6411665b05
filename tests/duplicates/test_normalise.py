"""Every normalisation case the duplicate rules rely on: Chinese and English company names,
full-width characters, legal forms, regions, phone formats and emails."""

from __future__ import annotations

import pytest

from engine.duplicates import blocking_prefix, company_core, normal_email, normal_phone, normal_text, normal_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Acme   Widgets  ", "acme widgets"),
        ("ＡＣＭＥ　Ｗｉｄｇｅｔｓ", "acme widgets"),  # full-width letters and space
        ("Acme, Widgets!", "acme widgets"),
        ("华信（西安）", "华信 西安"),  # full-width brackets are punctuation
        ("Straße", "strasse"),  # case-folded, not only lower-cased
        ("１２３－４５", "123 45"),
    ],
)
def test_normal_text(value: str, expected: str) -> None:
    assert normal_text(value) == expected


@pytest.mark.parametrize(
    "name",
    [
        "西安华信环保科技有限公司",
        "西安华信环保科技有限公司 ",
        " 西安华信环保科技",
        "华信环保科技（西安）有限公司",
        "华信环保科技(西安)有限公司",
        "西安市华信环保科技股份有限公司",
        "陕西省西安市华信环保科技有限责任公司",
        "西安华信环保科技集团有限公司",
        "西安华信环保科技公司",
        "西安华信环保科技有限公司",  # full-width space inside
    ],
)
def test_chinese_company_names_with_legal_forms_and_regions_share_a_core(name: str) -> None:
    assert company_core(name) == "华信环保科技"


@pytest.mark.parametrize(
    "name",
    [
        "Acme Widgets",
        "ACME Widgets Co., Ltd.",
        "Acme Widgets Inc.",
        "acme widgets LLC",
        "Acme Widgets GmbH",
        "Acme Widgets Corp.",
        "ＡＣＭＥ Ｗｉｄｇｅｔｓ Ｌｔｄ",
        "Acme Widgets Company Limited",
        "Acme Widgets S.A.",
        "Acme Widgets B.V.",
    ],
)
def test_english_company_names_without_legal_forms_share_a_core(name: str) -> None:
    assert company_core(name) == "acme widgets"


@pytest.mark.parametrize(
    ("name", "core"),
    [
        ("Tesco", "tesco"),  # "co" is a legal form only as a word of its own
        ("有限公司", "有限公司"),  # nothing but a legal form keeps it
        ("北京", "北京"),  # nothing but a region keeps it
        ("华为技术有限公司", "华为技术"),
    ],
)
def test_what_a_core_keeps(name: str, core: str) -> None:
    assert company_core(name) == core


def test_blocking_prefixes_start_the_core() -> None:
    assert blocking_prefix("华信环保科技") == "华信"
    assert blocking_prefix("acme widgets") == "acme"
    assert blocking_prefix("") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-13800138000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("(+86) 138.0013.8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits
        ("029-8888 6666", "+862988886666"),
        ("(029) 88886666", "+862988886666"),
        ("+86 (29) 8888-6666", "+862988886666"),
        ("+86 (0)29 8888 6666", "+862988886666"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("001 415 555 0100", "+14155550100"),
        ("n/a", ""),
    ],
)
def test_phone_numbers_are_canonical(value: str, expected: str) -> None:
    assert normal_phone(value) == expected


@pytest.mark.parametrize("value", [" Li.Lei@Example.COM ", "li.lei@example.com", "ＬＩ.ＬＥＩ@example.com"])
def test_emails_are_lower_cased(value: str) -> None:
    assert normal_email(value) == "li.lei@example.com"


def test_exact_values_by_field_type() -> None:
    assert normal_value("phone", "138 0013 8000") == normal_value("phone", "+8613800138000")
    assert normal_value("email", "A@B.cn") == "a@b.cn"
    assert normal_value("string", " 西安 ") == normal_value("string", "西安")
    assert normal_value("boolean", True) == "true"
    assert normal_value("integer", 12) == "12"
