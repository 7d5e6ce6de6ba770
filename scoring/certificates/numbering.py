"""Certificate numbers: encode, decode and validate.

Three schemes, all from seed 003:

``national``
    职业技能等级证书编码规则（试行）, 人社鉴发〔2019〕2号 附件1. 22 characters::

        position  1      2-5          6-7        8-13         14-15  16     17-22
                  Y/S    agency code  province   site serial  year   level  serial

    Agency code 0001–9999 when the agency was filed with the ministry, ``0000`` when filed with a
    province (表3); province from 表4; level 1..5 (表5); serial 000001–999999 per agency site, year and
    level.

``henan``
    河南省职业技能等级证书编码规则（试行）, 豫职鉴〔2020〕2号 附件1. Same 22 characters, but
    positions 6-7 are always 41 (河南省), 8-9 are the 省直/市级 code (表5, 00 省直 … 28 新蔡县) and
    10-13 the site serial. 豫职鉴〔2021〕1号 §一: for an employer agency (Y) position 10 takes 0–8;
    9 marks a technical school's centre assessing its own enrolled students (技工院校职业技能等级认定中心,
    filed as category Y).

``special``
    专项职业能力证书, 豫人社办函〔2020〕41号 §四(一) and §二(四). 15 digits: issue year (2) +
    assessment-agency code (8: region 4 + the fixed digit 5 + agency serial 3) + serial (5,
    00001–99999).

Every decoder raises :class:`CertificateNumberError` naming the first position that is wrong and
what belongs there, in Chinese and English. Whitespace inside a code is ignored, because the seed
itself prints codes in groups (``Y 0001 41 00 XXXX 19 5 000001``).

The seed's examples leave the site serial as ``X`` (it is assigned by the province); pass
``allow_placeholders=True`` to decode such a template. Placeholders are never accepted by default.

The year check: these schemes did not exist before the documents that created them, so a year
before 2019 (national, Henan: the national rule is dated 2019-04-19 and the Henan examples use 19)
or before 2020 (special: 豫人社办函〔2020〕41号 is dated 2020-03-12) is rejected. Pass ``as_of`` (a
date) to also reject years after it; this module never reads the clock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Literal

__all__ = [
    "CATEGORIES", "PROVINCES", "HENAN_CITIES", "LEVELS", "SCHEMES",
    "CertificateNumberError", "SerialOverflowError",
    "CertificateNumber", "SpecialAbilityNumber", "SpecialAgencyCode",
    "encode_national", "decode_national", "encode_henan", "decode_henan",
    "encode_special", "decode_special", "parse_special_agency_code",
    "decode", "is_valid", "format_serial", "next_serial", "level_name",
]

Scheme = Literal["national", "henan", "special"]
SCHEMES: tuple[str, ...] = ("national", "henan", "special")

#: 表2 评价机构类别代码 (identical in 人社鉴发〔2019〕2号 and 豫职鉴〔2020〕2号).
CATEGORIES: dict[str, tuple[str, str]] = {
    "Y": ("用人单位", "employer"),
    "S": ("社会培训评价组织", "social training-evaluation organisation"),
}

#: 表4 省级代码表, 人社鉴发〔2019〕2号. (The Henan copy of this table prints 14 as 陕西省, an obvious
#: misprint: 61 is 陕西省 in both tables and 14 is 山西省 in the national one; we follow the national.)
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "66": "新疆生产建设兵团",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

HENAN_PROVINCE_CODE = "41"

#: 表5 省直和市级代码表, 豫职鉴〔2020〕2号.
HENAN_CITIES: dict[str, str] = {
    "00": "省直", "01": "郑州市", "02": "开封市", "03": "洛阳市", "04": "平顶山市", "05": "安阳市",
    "06": "鹤壁市", "07": "新乡市", "08": "焦作市", "09": "濮阳市", "10": "许昌市", "11": "漯河市",
    "12": "三门峡市", "13": "南阳市", "14": "商丘市", "15": "信阳市", "16": "周口市", "17": "驻马店市",
    "18": "济源市", "19": "巩义市", "20": "兰考县", "21": "汝州市", "22": "滑县", "23": "长垣县",
    "24": "邓州市", "25": "永城市", "26": "固始县", "27": "鹿邑县", "28": "新蔡县",
}

#: 表5 职业技能等级代码, 人社鉴发〔2019〕2号; printed as "五级/初级工" (人社鉴发〔2021〕1号 §三(一)).
LEVELS: dict[int, tuple[str, str]] = {
    1: ("一级/高级技师", "level 1 / senior technician"),
    2: ("二级/技师", "level 2 / technician"),
    3: ("三级/高级工", "level 3 / senior worker"),
    4: ("四级/中级工", "level 4 / intermediate worker"),
    5: ("五级/初级工", "level 5 / junior worker"),
}

FILED_WITH: dict[str, tuple[str, str]] = {
    "ministry": ("人力资源社会保障部备案", "filed with the Ministry of Human Resources and Social Security"),
    "province": ("省级人力资源社会保障部门备案", "filed with a provincial human resources department"),
}
HENAN_FILED_WITH: dict[str, tuple[str, str]] = {
    "ministry": FILED_WITH["ministry"],
    "province": ("省、市级人力资源社会保障部门备案",
                 "filed with the Henan provincial or a city human resources department"),
}

SITE_KINDS: dict[str, tuple[str, str]] = {
    "employer": ("用人单位评价机构（站点）", "employer agency site"),
    "technical_school": ("技工院校（技师学院）职业技能等级认定中心",
                         "technical school's centre assessing its own students"),
    "social": ("社会培训评价组织（站点）", "social training-evaluation organisation site"),
}

NATIONAL_LENGTH = 22
SPECIAL_LENGTH = 15
NATIONAL_FIRST_YEAR = 2019
SPECIAL_FIRST_YEAR = 2020
SPECIAL_ABILITY_DIGIT = "5"
PLACEHOLDER = "X"

_WHITESPACE = re.compile(r"[\s\u3000]+")


# --- errors -------------------------------------------------------------------------------------

class CertificateNumberError(ValueError):
    """A certificate number (or one of its parts) that breaks its coding rule.

    Attributes
    ----------
    kind : str
        Machine-readable cause: ``length``, ``category``, ``agency_code``, ``province``, ``city``,
        ``site_serial``, ``position10``, ``year``, ``level``, ``serial``, ``overflow``, ``scheme``.
    positions : tuple[int, int] | None
        1-based inclusive positions in the code that are wrong (``None`` for the length).
    reason_zh, reason_en : str
        Why, naming the positions and what they must hold.
    """

    def __init__(self, kind: str, reason_zh: str, reason_en: str,
                 positions: tuple[int, int] | None = None, code: str | None = None):
        self.kind = kind
        self.positions = positions
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.code = code
        super().__init__(f"{reason_zh} ({reason_en})")

    @property
    def reason(self) -> str:
        return f"{self.reason_zh} ({self.reason_en})"


class SerialOverflowError(CertificateNumberError):
    """The serial range (000001–999999 or 00001–99999) is used up."""


def _pos(p: tuple[int, int]) -> tuple[str, str]:
    """("第6-7位", "positions 6-7") for a position range."""
    a, b = p
    if a == b:
        return f"第{a}位", f"position {a}"
    return f"第{a}-{b}位", f"positions {a}-{b}"


def _err(kind: str, p: tuple[int, int] | None, label: tuple[str, str], zh: str, en: str,
         code: str | None) -> CertificateNumberError:
    if p is None:
        return CertificateNumberError(kind, zh, en, None, code)
    pz, pe = _pos(p)
    return CertificateNumberError(kind, f"{pz}（{label[0]}）{zh}", f"{pe} ({label[1]}) {en}", p, code)


# --- decoded forms ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CertificateNumber:
    """One decoded 22-character skill level certificate number (national or Henan scheme).

    ``site_serial`` is positions 8-13 (6 characters) in the national scheme and positions 10-13
    (4 characters) in the Henan scheme, where positions 8-9 are ``city_code``. ``placeholder`` is
    true when the site serial is the seed's ``X`` template.
    """

    code: str
    scheme: str
    category: str
    category_name: str
    category_name_en: str
    agency_code: str
    filed_with: str  # "ministry" | "province"
    filed_with_name: str
    filed_with_name_en: str
    province_code: str
    province_name: str
    city_code: str | None
    city_name: str | None
    site_serial: str
    site_kind: str | None  # Henan only: "employer" | "technical_school" | "social"
    site_kind_name: str | None
    issue_year: int
    level: int
    level_name: str
    level_name_en: str
    serial: str
    placeholder: bool = False

    @property
    def serial_number(self) -> int:
        return int(self.serial)

    @property
    def site_prefix(self) -> str:
        """Positions 1-13: what the human resources department assigns (表1 来源)."""
        return self.code[:13]

    def parts(self) -> list[tuple[str, str, str, str]]:
        """(positions, Chinese label, English label, value with its meaning), in code order."""
        rows = [
            ("1", "评价机构类别", "agency category",
             f"{self.category} {self.category_name} ({self.category_name_en})"),
            ("2-5", "评价机构代码", "agency code",
             f"{self.agency_code} {self.filed_with_name} ({self.filed_with_name_en})"),
            ("6-7", "省级代码", "province code", f"{self.province_code} {self.province_name}"),
        ]
        if self.scheme == "henan":
            rows.append(("8-9", "省直或市级代码", "city code", f"{self.city_code} {self.city_name}"))
            kind = f" {self.site_kind_name} ({SITE_KINDS[self.site_kind][1]})" if self.site_kind else ""
            rows.append(("10-13", "评价机构（站点）序列码", "site serial", f"{self.site_serial}{kind}"))
        else:
            rows.append(("8-13", "评价机构（站点）序列码", "site serial", self.site_serial))
        rows += [
            ("14-15", "证书核发年份", "issue year", f"{self.code[13:15]} → {self.issue_year}"),
            ("16", "职业技能等级", "skill level", f"{self.level} {self.level_name} ({self.level_name_en})"),
            ("17-22", "证书序列码", "certificate serial", self.serial),
        ]
        return rows


@dataclasses.dataclass(frozen=True)
class SpecialAgencyCode:
    """An 8-digit special-ability assessment-agency code: region (4) + ``5`` + agency serial (3).

    豫人社办函〔2020〕41号 §二(四); e.g. 16015000 is the Zhengzhou municipal centre itself.
    """

    code: str
    region_code: str
    agency_serial: str
    placeholder: bool = False

    @property
    def is_centre(self) -> bool:
        """Serial 000 is the regional centre's own code, which manages the region's agencies."""
        return self.agency_serial == "000"


@dataclasses.dataclass(frozen=True)
class SpecialAbilityNumber:
    """One decoded 15-digit special-ability (专项职业能力) certificate number."""

    code: str
    issue_year: int
    agency: SpecialAgencyCode
    serial: str

    @property
    def agency_code(self) -> str:
        return self.agency.code

    @property
    def serial_number(self) -> int:
        return int(self.serial)

    def parts(self) -> list[tuple[str, str, str, str]]:
        a = self.agency
        centre = "（鉴定中心本级 regional centre itself）" if a.is_centre else ""
        return [
            ("1-2", "证书核发年份", "issue year", f"{self.code[:2]} → {self.issue_year}"),
            ("3-10", "考核机构代码", "assessment agency code", self.agency_code),
            ("3-6", "地区编码", "region code", a.region_code),
            ("7", "专项职业能力标识", "special-ability marker", "5 专项职业能力 (special vocational ability)"),
            ("8-10", "考核机构流水码", "agency serial", f"{a.agency_serial}{centre}"),
            ("11-15", "证书流水编码", "certificate serial", self.serial),
        ]


# --- field checks shared by encoders and decoders -----------------------------------------------

_L_CATEGORY = ("评价机构类别代码", "agency category")
_L_AGENCY = ("评价机构代码", "agency code")
_L_PROVINCE = ("评价机构（站点）所在地省级代码", "province code")
_L_CITY = ("评价机构（站点）所在地省直或市级代码", "Henan city code")
_L_SITE = ("评价机构（站点）序列码", "site serial")
_L_YEAR = ("证书核发年份代码", "issue year")
_L_LEVEL = ("职业技能等级代码", "skill level")
_L_SERIAL = ("证书序列码", "certificate serial")
_L_SP_YEAR = ("年份", "issue year")
_L_SP_AGENCY = ("考核机构代码", "assessment agency code")
_L_SP_SERIAL = ("证书流水编码", "certificate serial")


def _normalise(code: object) -> str:
    if not isinstance(code, str):
        raise CertificateNumberError("length", f"证书编码应为字符串，实际为 {type(code).__name__}",
                                     f"a certificate number must be a string, got {type(code).__name__}")
    return _WHITESPACE.sub("", code)


def _digits(value: str, p: tuple[int, int], label: tuple[str, str], code: str | None,
            kind: str, allow_placeholder: bool = False) -> None:
    """Every character of ``value`` (at positions p) is an ASCII digit (or all are X)."""
    if allow_placeholder and value == PLACEHOLDER * len(value):
        return
    for i, ch in enumerate(value):
        if not ("0" <= ch <= "9"):
            at = p[0] + i
            hint_zh = "（示例中的X须替换为实际序列码）" if ch in "Xx" else ""
            hint_en = " (the seed's X placeholders must be replaced by the real serial)" if ch in "Xx" else ""
            raise _err(kind, p, label,
                       f"应为{len(value)}位阿拉伯数字，第{at}位为“{ch}”{hint_zh}",
                       f"must be {len(value)} digits; position {at} is {ch!r}{hint_en}", code)


def _check_category(c: str, code: str | None) -> None:
    if c in CATEGORIES:
        return
    if c.upper() in CATEGORIES:
        raise _err("category", (1, 1), _L_CATEGORY,
                   f"须为大写字母Y或S，实际为小写“{c}”",
                   f"must be a capital Y or S; got lower-case {c!r}", code)
    raise _err("category", (1, 1), _L_CATEGORY,
               f"应为Y（用人单位）或S（社会培训评价组织），实际为“{c}”",
               f"must be Y (employer) or S (social training-evaluation organisation); got {c!r}", code)


def _check_year(yy: str, p: tuple[int, int], label: tuple[str, str], first: int, rule: str,
                as_of: dt.date | None, code: str | None) -> int:
    _digits(yy, p, label, code, "year")
    year = 2000 + int(yy)
    if year < first:
        raise _err("year", p, label,
                   f"“{yy}”表示{year}年，早于本编码规则（{rule}）施行的{first}年",
                   f"{yy!r} means {year}, before this coding rule ({rule}) existed ({first})", code)
    if as_of is not None and year > as_of.year:
        raise _err("year", p, label,
                   f"“{yy}”表示{year}年，晚于{as_of.isoformat()}",
                   f"{yy!r} means {year}, after {as_of.isoformat()}", code)
    return year


def _check_level(c: str, p: tuple[int, int], code: str | None) -> int:
    _digits(c, p, _L_LEVEL, code, "level")
    level = int(c)
    if level not in LEVELS:
        raise _err("level", p, _L_LEVEL,
                   f"应为1–5（1一级/高级技师 … 5五级/初级工），实际为{c}",
                   f"must be 1-5 (1 senior technician … 5 junior worker); got {c}", code)
    return level


def _check_serial(s: str, p: tuple[int, int], label: tuple[str, str], code: str | None) -> None:
    _digits(s, p, label, code, "serial")
    if int(s) == 0:
        lo, hi = "0" * (len(s) - 1) + "1", "9" * len(s)
        raise _err("serial", p, label, f"应在{lo}–{hi}之间，实际为{s}",
                   f"must be {lo}-{hi}; got {s}", code)


def _check_province(pc: str, code: str | None) -> str:
    p = (6, 7)
    _digits(pc, p, _L_PROVINCE, code, "province")
    if pc not in PROVINCES:
        raise _err("province", p, _L_PROVINCE,
                   f"“{pc}”不在人社鉴发〔2019〕2号表4省级代码表中",
                   f"{pc!r} is not in table 4 (province codes) of 人社鉴发〔2019〕2号", code)
    return PROVINCES[pc]


def _check_city(cc: str, code: str | None) -> str:
    p = (8, 9)
    _digits(cc, p, _L_CITY, code, "city")
    if cc not in HENAN_CITIES:
        raise _err("city", p, _L_CITY,
                   f"“{cc}”不在豫职鉴〔2020〕2号表5中（00省直、01郑州市 … 28新蔡县）",
                   f"{cc!r} is not in table 5 of 豫职鉴〔2020〕2号 (00 province-level, 01 Zhengzhou … "
                   f"28 Xincai)", code)
    return HENAN_CITIES[cc]


def _henan_site_kind(category: str, site_serial: str, technical_school: bool | None,
                     code: str | None) -> str:
    """Position 10 rule of 豫职鉴〔2021〕1号 §一(一)2 and §一(三)2."""
    p = (10, 10)
    label = ("评价机构（站点）序列码首位", "first digit of the site serial")
    if category == "S":
        if technical_school:
            raise _err("position10", p, label,
                       "：技工院校面向本校学生的认定中心备案为用人单位，类别代码应为Y而非S（豫职鉴〔2021〕1号）",
                       ": a technical school's centre for its own students is filed as an employer "
                       "(category Y), not S (豫职鉴〔2021〕1号)", code)
        return "social"
    if site_serial[0] == "9":
        if technical_school is False:
            raise _err("position10", p, label,
                       "为9，仅用于技工院校学生认定中心；用人单位评价机构应取0–8（豫职鉴〔2021〕1号）",
                       "is 9, which marks a technical school's student-assessment centre; an employer "
                       "agency takes 0-8 (豫职鉴〔2021〕1号)", code)
        return "technical_school"
    if technical_school:
        raise _err("position10", p, label,
                   f"应为9（技工院校学生认定中心），实际为{site_serial[0]}（豫职鉴〔2021〕1号）",
                   f"must be 9 for a technical school's student-assessment centre; got {site_serial[0]} "
                   f"(豫职鉴〔2021〕1号)", code)
    return "employer"


# --- serials ------------------------------------------------------------------------------------

def format_serial(n: int, width: int = 6) -> str:
    """Zero-padded serial: ``format_serial(1) == "000001"``; 1 … 10**width - 1, else an error.

    Width 6 is the skill level certificate serial (000001–999999, per agency site, year and level);
    width 5 the special-ability serial (00001–99999).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"serial must be an int, got {type(n).__name__}")
    top = 10 ** width - 1
    if n > top:
        raise SerialOverflowError("overflow", f"证书序列码已用尽：{n}超过{top}",
                                  f"serial {n} exceeds {top}; the range is used up")
    if n < 1:
        raise CertificateNumberError("serial", f"证书序列码应从{1:0{width}d}开始，实际为{n}",
                                     f"serial must start at {1:0{width}d}; got {n}")
    return f"{n:0{width}d}"


def next_serial(last: str | int | None, width: int = 6) -> str:
    """The serial after ``last`` (``None`` when nothing was issued yet → ``000001``).

    Raises :class:`SerialOverflowError` after 999999 (or 99999 for width 5).
    """
    if last is None:
        return format_serial(1, width)
    if isinstance(last, str):
        if len(last) != width or not last.isascii() or not last.isdigit():
            raise CertificateNumberError("serial", f"上一个序列码应为{width}位数字，实际为“{last}”",
                                         f"previous serial must be {width} digits; got {last!r}")
        last = int(last)
    return format_serial(last + 1, width)


def _as_digits(value: str | int, width: int, p: tuple[int, int], label: tuple[str, str], kind: str) -> str:
    """An encoder argument as exactly ``width`` digits (ints are zero-padded)."""
    if isinstance(value, bool):
        raise TypeError(f"{label[1]} must be str or int, got bool")
    if isinstance(value, int):
        if not 0 <= value < 10 ** width:
            raise _err(kind, p, label, f"应为{width}位数字，{value}超出范围",
                       f"must be {width} digits; {value} is out of range", None)
        return f"{value:0{width}d}"
    if not isinstance(value, str):
        raise TypeError(f"{label[1]} must be str or int, got {type(value).__name__}")
    if len(value) != width:
        raise _err(kind, p, label, f"应为{width}位，实际为{len(value)}位“{value}”",
                   f"must have {width} characters; got {len(value)} ({value!r})", None)
    _digits(value, p, label, None, kind)
    return value


def _level_char(level: int) -> str:
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise _err("level", (16, 16), _L_LEVEL, f"应为1–5，实际为{level!r}", f"must be 1-5; got {level!r}", None)
    return str(level)


def _year_code(year: int | dt.date) -> str:
    if isinstance(year, dt.date):
        year = year.year
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2099:
        raise CertificateNumberError("year", f"核发年份应为2000–2099的公元年份，实际为{year!r}",
                                     f"issue year must be a full year 2000-2099; got {year!r}")
    return f"{year % 100:02d}"


# --- national -----------------------------------------------------------------------------------

def encode_national(category: str, agency_code: str | int, province_code: str | int,
                    site_serial: str | int, issue_year: int | dt.date, level: int,
                    serial: str | int) -> str:
    """Build a national 22-character number (人社鉴发〔2019〕2号) and check it.

    ``agency_code`` is ``"0000"`` for a province-filed agency; ``issue_year`` is the full year (or
    the issue date); ``serial`` an int 1..999999 or its 6-digit form.

    >>> encode_national("Y", 1, "23", "000001", 2019, 5, 1)
    'Y000123000001195000001'
    """
    code = "".join([
        category if isinstance(category, str) else str(category),
        _as_digits(agency_code, 4, (2, 5), _L_AGENCY, "agency_code"),
        _as_digits(province_code, 2, (6, 7), _L_PROVINCE, "province"),
        _as_digits(site_serial, 6, (8, 13), _L_SITE, "site_serial"),
        _year_code(issue_year),
        _level_char(level),
        format_serial(serial) if isinstance(serial, int) else _as_digits(serial, 6, (17, 22), _L_SERIAL, "serial"),
    ])
    if len(category) != 1:
        raise _err("category", (1, 1), _L_CATEGORY, f"应为一个字母Y或S，实际为“{category}”",
                   f"must be the single letter Y or S; got {category!r}", None)
    return decode_national(code).code


def _decode_22(code: object, allow_placeholders: bool, as_of: dt.date | None,
               henan: bool) -> tuple[str, dict]:
    c = _normalise(code)
    if len(c) != NATIONAL_LENGTH:
        raise CertificateNumberError(
            "length",
            f"证书编码应为22位（1位大写英文字母+21位阿拉伯数字），实际为{len(c)}位",
            f"a certificate number has 22 characters (1 capital letter + 21 digits); got {len(c)}",
            None, c)
    _check_category(c[0], c)
    _digits(c[1:5], (2, 5), _L_AGENCY, c, "agency_code")
    province_name = _check_province(c[5:7], c)
    fields: dict = {}
    if henan:
        if c[5:7] != HENAN_PROVINCE_CODE:
            raise _err("province", (6, 7), _L_PROVINCE,
                       f"按河南省编码规则应为41（河南省），实际为{c[5:7]}（{province_name}）",
                       f"must be 41 (Henan) under the Henan scheme; got {c[5:7]} ({province_name})", c)
        fields["city_code"] = c[7:9]
        fields["city_name"] = _check_city(c[7:9], c)
        site = c[9:13]
        _digits(site, (10, 13), _L_SITE, c, "site_serial", allow_placeholders)
    else:
        fields["city_code"] = fields["city_name"] = None
        site = c[7:13]
        _digits(site, (8, 13), _L_SITE, c, "site_serial", allow_placeholders)
    fields["site_serial"] = site
    fields["placeholder"] = site.startswith(PLACEHOLDER)
    rule = "豫职鉴〔2020〕2号" if henan else "人社鉴发〔2019〕2号"
    fields["issue_year"] = _check_year(c[13:15], (14, 15), _L_YEAR, NATIONAL_FIRST_YEAR, rule, as_of, c)
    fields["level"] = _check_level(c[15], (16, 16), c)
    _check_serial(c[16:22], (17, 22), _L_SERIAL, c)
    fields["serial"] = c[16:22]
    return c, fields


def _number(c: str, scheme: str, f: dict, site_kind: str | None) -> CertificateNumber:
    filed = "province" if c[1:5] == "0000" else "ministry"
    filed_names = (HENAN_FILED_WITH if scheme == "henan" else FILED_WITH)[filed]
    return CertificateNumber(
        code=c, scheme=scheme, category=c[0],
        category_name=CATEGORIES[c[0]][0], category_name_en=CATEGORIES[c[0]][1],
        agency_code=c[1:5], filed_with=filed, filed_with_name=filed_names[0], filed_with_name_en=filed_names[1],
        province_code=c[5:7], province_name=PROVINCES[c[5:7]],
        city_code=f["city_code"], city_name=f["city_name"], site_serial=f["site_serial"],
        site_kind=site_kind, site_kind_name=SITE_KINDS[site_kind][0] if site_kind else None,
        issue_year=f["issue_year"], level=f["level"],
        level_name=LEVELS[f["level"]][0], level_name_en=LEVELS[f["level"]][1],
        serial=f["serial"], placeholder=f["placeholder"],
    )


def decode_national(code: str, *, allow_placeholders: bool = False,
                    as_of: dt.date | None = None) -> CertificateNumber:
    """Decode and validate a 22-character number under 人社鉴发〔2019〕2号.

    Raises :class:`CertificateNumberError` at the first wrong position.
    """
    c, f = _decode_22(code, allow_placeholders, as_of, henan=False)
    return _number(c, "national", f, None)


# --- Henan --------------------------------------------------------------------------------------

def encode_henan(category: str, agency_code: str | int, city_code: str | int, site_serial: str | int,
                 issue_year: int | dt.date, level: int, serial: str | int, *,
                 technical_school: bool = False) -> str:
    """Build a Henan 22-character number (豫职鉴〔2020〕2号; position 10 by 豫职鉴〔2021〕1号).

    ``site_serial`` is the 4-digit serial at positions 10-13. For an employer (Y) its first digit
    must be 0–8, unless ``technical_school`` is true, when it must be 9.

    >>> encode_henan("Y", "0000", 12, "0001", 2019, 5, 1)
    'Y000041120001195000001'
    """
    code = "".join([
        category if isinstance(category, str) else str(category),
        _as_digits(agency_code, 4, (2, 5), _L_AGENCY, "agency_code"),
        HENAN_PROVINCE_CODE,
        _as_digits(city_code, 2, (8, 9), _L_CITY, "city"),
        _as_digits(site_serial, 4, (10, 13), _L_SITE, "site_serial"),
        _year_code(issue_year),
        _level_char(level),
        format_serial(serial) if isinstance(serial, int) else _as_digits(serial, 6, (17, 22), _L_SERIAL, "serial"),
    ])
    if len(category) != 1:
        raise _err("category", (1, 1), _L_CATEGORY, f"应为一个字母Y或S，实际为“{category}”",
                   f"must be the single letter Y or S; got {category!r}", None)
    return decode_henan(code, technical_school=technical_school).code


def decode_henan(code: str, *, allow_placeholders: bool = False, as_of: dt.date | None = None,
                 technical_school: bool | None = None) -> CertificateNumber:
    """Decode and validate a 22-character number under the Henan scheme.

    ``technical_school``: ``None`` infers the site kind from position 10 (for Y: 9 → technical
    school's student centre, 0–8 → employer); ``True``/``False`` also checks that it agrees.
    """
    c, f = _decode_22(code, allow_placeholders, as_of, henan=True)
    if f["placeholder"]:
        kind = "social" if c[0] == "S" else None
    else:
        kind = _henan_site_kind(c[0], f["site_serial"], technical_school, c)
    return _number(c, "henan", f, kind)


# --- special ability ----------------------------------------------------------------------------

def parse_special_agency_code(code: str | int, *, allow_placeholders: bool = False) -> SpecialAgencyCode:
    """Validate an 8-digit special-ability assessment-agency code (豫人社办函〔2020〕41号 §二(四)).

    Positions in errors count within the 8 digits. With ``allow_placeholders`` the last three may
    be ``xxx`` (the seed's ``16015xxx``).
    """
    c = _normalise(code) if isinstance(code, str) else f"{code:08d}"
    return _special_agency(c, 0, None, allow_placeholders)


def _special_agency(c: str, off: int, full: str | None, allow_placeholders: bool) -> SpecialAgencyCode:
    """Check agency code ``c`` found at offset ``off`` of the full code ``full`` (for error positions)."""
    if len(c) != 8:
        raise _err("agency_code", (off + 1, off + 8), _L_SP_AGENCY, f"应为8位阿拉伯数字，实际为{len(c)}位",
                   f"must have 8 digits; got {len(c)}", full)
    _digits(c[:4], (off + 1, off + 4), ("地区编码", "region code"), full, "agency_code")
    if c[4] != SPECIAL_ABILITY_DIGIT:
        raise _err("agency_code", (off + 5, off + 5), ("考核机构代码第5位", "5th digit of the agency code"),
                   f"固定为5（代表专项职业能力），实际为“{c[4]}”",
                   f"is always 5 (marks special vocational ability); got {c[4]!r}", full)
    tail = c[5:].upper() if allow_placeholders else c[5:]
    _digits(tail, (off + 6, off + 8), ("考核机构流水码", "agency serial"), full, "agency_code",
            allow_placeholders)
    return SpecialAgencyCode(c[:5] + tail, c[:4], tail, placeholder=tail == "XXX")


def encode_special(issue_year: int | dt.date, agency_code: str | int, serial: str | int) -> str:
    """Build a 15-digit special-ability number: year (2) + agency code (8) + serial (5).

    >>> encode_special(2020, "16015001", 1)
    '201601500100001'
    """
    sp = (format_serial(serial, 5) if isinstance(serial, int)
          else _as_digits(serial, 5, (11, 15), _L_SP_SERIAL, "serial"))
    ac = _as_digits(agency_code, 8, (3, 10), _L_SP_AGENCY, "agency_code")
    return decode_special(_year_code(issue_year) + ac + sp).code


def decode_special(code: str, *, as_of: dt.date | None = None) -> SpecialAbilityNumber:
    """Decode and validate a 15-digit special-ability number (豫人社办函〔2020〕41号 §四(一))."""
    c = _normalise(code)
    if len(c) != SPECIAL_LENGTH:
        raise CertificateNumberError(
            "length", f"专项职业能力证书编码应为15位阿拉伯数字，实际为{len(c)}位",
            f"a special-ability certificate number has 15 digits; got {len(c)}", None, c)
    year = _check_year(c[:2], (1, 2), _L_SP_YEAR, SPECIAL_FIRST_YEAR, "豫人社办函〔2020〕41号", as_of, c)
    agency = _special_agency(c[2:10], 2, c, False)
    _check_serial(c[10:15], (11, 15), _L_SP_SERIAL, c)
    return SpecialAbilityNumber(c, year, agency, c[10:15])


# --- dispatch -----------------------------------------------------------------------------------

def decode(code: str, scheme: str = "national", *, allow_placeholders: bool = False,
           as_of: dt.date | None = None) -> CertificateNumber | SpecialAbilityNumber:
    """Decode ``code`` under ``scheme`` (``national``, ``henan`` or ``special``)."""
    if scheme == "national":
        return decode_national(code, allow_placeholders=allow_placeholders, as_of=as_of)
    if scheme == "henan":
        return decode_henan(code, allow_placeholders=allow_placeholders, as_of=as_of)
    if scheme == "special":
        return decode_special(code, as_of=as_of)
    raise CertificateNumberError("scheme", f"未知的编码规则“{scheme}”，应为 national、henan 或 special",
                                 f"unknown scheme {scheme!r}; expected national, henan or special")


def is_valid(code: str, scheme: str = "national", *, as_of: dt.date | None = None) -> bool:
    """True when ``code`` decodes under ``scheme`` (placeholders never count as valid)."""
    try:
        decode(code, scheme, as_of=as_of)
    except CertificateNumberError:
        return False
    return True


def level_name(level: int) -> str:
    """Chinese level name as printed: ``level_name(5) == "五级/初级工"``."""
    if level not in LEVELS:
        raise CertificateNumberError("level", f"职业技能等级应为1–5，实际为{level!r}",
                                     f"skill level must be 1-5; got {level!r}")
    return LEVELS[level][0]
