"""How values are normalised before duplicate rules compare them.

``exact`` compares :func:`normal_text` (or the canonical phone / email for those field
types); ``similar`` compares :func:`company_core`: the normal text of a name without its
legal form (有限公司, Co., Ltd., GmbH ...) and without a leading or bracketed region
(西安…, …（西安）…), so that 西安华信环保科技有限公司, 华信环保科技（西安）有限公司 and
西安华信环保科技 all come down to 华信环保科技.

Pure functions of a value: no database, no definitions.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
#: Unicode punctuation and symbols (categories P* and S*) become spaces.
_PUNCT_CATEGORIES = ("P", "S")


def normal_text(value: object) -> str:
    """Trimmed, spaces collapsed, case-folded, full-width → half-width (NFKC), punctuation
    and symbols removed: ``"  ＡＣＭＥ,  Inc. "`` → ``"acme inc"``."""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in _PUNCT_CATEGORIES else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


def normal_email(value: object) -> str:
    """An email address trimmed, NFKC-normalised and lower-cased."""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


_DIGITS = re.compile(r"\d+")
_CHINA = "86"


def normal_phone(value: object) -> str:
    """A phone number in one canonical form: ``+`` country code and national number.

    Spaces, dashes, dots and parentheses go; ``+86``, ``0086`` and a bare ``86`` before a
    mobile number are China's country code; a national number (no country code) is taken
    as Chinese and loses its trunk ``0`` (``029-8888 6666`` → ``+862988886666``, the same as
    ``+86 (29) 8888-6666``). Another country's number keeps its own code (``+1 415 555 0100``
    → ``+14155550100``). A value without digits normalises to ``""`` (never a match).
    """
    text = unicodedata.normalize("NFKC", str(value)).strip()
    digits = "".join(_DIGITS.findall(text))
    if not digits:
        return ""
    if text.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif len(digits) == 13 and digits.startswith("861"):
        international = digits  # 86 + an 11-digit mobile number
    else:
        return "+" + _CHINA + digits.lstrip("0")
    if international.startswith(_CHINA):
        return "+" + _CHINA + international[len(_CHINA) :].lstrip("0")
    return "+" + international


#: Legal forms, longest first so that 股份有限公司 goes before 有限公司 (normal text, so lower case).
_LEGAL_SUFFIXES = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "集团有限公司",
            "集团股份有限公司",
            "集团",
            "公司",
            "分公司",
            "总公司",
            "厂",
            "co ltd",
            "co limited",
            "company limited",
            "company",
            "co",
            "ltd",
            "limited",
            "inc",
            "incorporated",
            "llc",
            "llp",
            "gmbh",
            "ag",
            "corp",
            "corporation",
            "plc",
            "pte",
            "pty",
            "sa",
            "s a",
            "bv",
            "b v",
            "group",
            "holdings",
        },
        key=len,
        reverse=True,
    )
)
_LATIN_WORD = re.compile(r"[a-z0-9]")

#: Provinces, autonomous regions and larger cities, as a name begins with them (longest first).
_REGIONS = tuple(
    sorted(
        set(
            [
                "北京",
                "天津",
                "上海",
                "重庆",
                "河北",
                "山西",
                "辽宁",
                "吉林",
                "黑龙江",
                "江苏",
                "浙江",
                "安徽",
                "福建",
                "江西",
                "山东",
                "河南",
                "湖北",
                "湖南",
                "广东",
                "海南",
                "四川",
                "贵州",
                "云南",
                "陕西",
                "甘肃",
                "青海",
                "台湾",
                "内蒙古",
                "广西",
                "西藏",
                "宁夏",
                "新疆",
                "香港",
                "澳门",
                "石家庄",
                "太原",
                "沈阳",
                "大连",
                "长春",
                "哈尔滨",
                "南京",
                "苏州",
                "无锡",
                "常州",
                "南通",
                "杭州",
                "宁波",
                "温州",
                "合肥",
                "福州",
                "厦门",
                "泉州",
                "南昌",
                "济南",
                "青岛",
                "烟台",
                "潍坊",
                "郑州",
                "洛阳",
                "武汉",
                "长沙",
                "广州",
                "深圳",
                "东莞",
                "佛山",
                "珠海",
                "中山",
                "海口",
                "三亚",
                "成都",
                "绵阳",
                "贵阳",
                "昆明",
                "西安",
                "咸阳",
                "宝鸡",
                "兰州",
                "西宁",
                "呼和浩特",
                "包头",
                "南宁",
                "桂林",
                "拉萨",
                "银川",
                "乌鲁木齐",
                "唐山",
                "保定",
                "徐州",
                "扬州",
                "嘉兴",
                "绍兴",
                "金华",
                "台州",
                "芜湖",
                "漳州",
                "赣州",
                "淄博",
                "临沂",
                "济宁",
                "许昌",
                "宜昌",
                "襄阳",
                "株洲",
                "岳阳",
                "惠州",
                "江门",
                "汕头",
                "湛江",
                "柳州",
            ]
        ),
        key=len,
        reverse=True,
    )
)
_REGION_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "区", "县")
_BRACKETED = re.compile(r"[(（\[【]([^()（）\[\]【】]{1,12})[)）\]】]")


def _strip_region_prefix(text: str) -> str:
    """``text`` without the region names it starts with (陕西省西安市… → …)."""
    changed = True
    while changed:
        changed = False
        for region in _REGIONS:
            if text.startswith(region) and len(text) > len(region) + 1:
                text = text[len(region) :]
                for suffix in _REGION_SUFFIXES:
                    if text.startswith(suffix):
                        text = text[len(suffix) :]
                        break
                text = text.lstrip()
                changed = True
                break
    return text


def _strip_legal_suffix(text: str) -> str:
    """``text`` without the legal forms it ends with (… 股份有限公司, … co., ltd.)."""
    changed = text not in _LEGAL_SUFFIXES  # a name that is nothing but a legal form keeps it
    while changed:
        changed = False
        for suffix in _LEGAL_SUFFIXES:
            if not text.endswith(suffix) or len(text) <= len(suffix):
                continue
            before = text[: -len(suffix)]
            # a Latin suffix must be a word of its own ("acme co", not "tesco")
            if _LATIN_WORD.match(suffix) and not before.endswith(" "):
                continue
            text = before.rstrip()
            changed = True
            break
    return text


def company_core(value: object) -> str:
    """The distinctive part of an organisation's name, which ``similar`` compares: legal
    forms and region names removed, then :func:`normal_text`. A name that is nothing but a
    region or a legal form keeps it (it would otherwise match every other such name)."""
    raw = unicodedata.normalize("NFKC", str(value))
    # a bracketed region anywhere: 华信环保科技(西安)有限公司
    raw = _BRACKETED.sub(lambda m: " " if _is_region(m.group(1)) else m.group(0), raw)
    text = normal_text(raw)
    stripped = _strip_legal_suffix(_strip_region_prefix(_strip_legal_suffix(text)))
    return stripped or text


def _is_region(text: str) -> bool:
    text = text.strip()
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text in _REGIONS


def blocking_prefix(core: str) -> str:
    """The part of a :func:`company_core` that candidates for ``similar`` must share: its
    first two characters for Chinese (the trade name begins there once the region is gone),
    else its first word cut to four characters. Names that differ at their start are not
    compared (the price of looking up a few candidates rather than the whole table)."""
    if not core:
        return ""
    first = core.split(" ", 1)[0]
    if first and first[0].isascii():
        return first[:4]
    return core.replace(" ", "")[:2]
