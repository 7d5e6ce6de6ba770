"""Reference data: levels, provinces, occupations, evaluation agencies, sites and rooms.

Levels follow 工作规程 art. 9; the province table is 表4 of 职业技能等级证书编码规则
(seed 003, 人社鉴发〔2019〕2号).
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, utcnow

LEVELS: dict[int, tuple[str, str]] = {
    5: ("五级/初级工", "Level 5 (junior worker)"),
    4: ("四级/中级工", "Level 4 (intermediate worker)"),
    3: ("三级/高级工", "Level 3 (senior worker)"),
    2: ("二级/技师", "Level 2 (technician)"),
    1: ("一级/高级技师", "Level 1 (senior technician)"),
}

PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
    "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
    "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区", "66": "新疆生产建设兵团", "71": "台湾省", "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

AGENCY_CATEGORIES = {"Y": ("用人单位", "Employer"), "S": ("社会培训评价组织", "Social training-evaluation organisation")}

OCCUPATION_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")


class Occupation(Base):
    """职业: an occupation of the national classification, e.g. 6-18-01-01 车工."""

    __tablename__ = "occupation"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    work_types: Mapped[list[WorkType]] = relationship(back_populates="occupation", order_by="WorkType.id")


class WorkType(Base):
    """工种/方向: a work type of an occupation, e.g. 数控车床; printed as "——" when absent."""

    __tablename__ = "work_type"
    __table_args__ = (UniqueConstraint("occupation_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    name: Mapped[str] = mapped_column(String(100))
    occupation: Mapped[Occupation] = relationship(back_populates="work_types")


class Agency(Base):
    """评价机构: an evaluation agency, category Y (employer) or S (social organisation).

    ``agency_code`` is 0001–9999 when filed with the ministry, ``0000`` when filed with a province.
    """

    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint("category in ('Y','S')", name="category"),
        CheckConstraint("status in ('active','cancelled')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(1))
    agency_code: Mapped[str] = mapped_column(String(4))
    #: 专项职业能力考核机构编码 (8 digits, 豫人社办函〔2020〕41号 §二(四)) when also filed for special-ability assessment
    special_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sites: Mapped[list[Site]] = relationship(back_populates="agency", order_by="Site.id")
    scope: Mapped[list[AgencyScope]] = relationship(back_populates="agency", order_by="AgencyScope.id")


class Site(Base):
    """评价机构（站点）: one filed site of an agency; its code prefix begins every certificate number."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("agency_id", "province_code", "site_serial"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    province_code: Mapped[str] = mapped_column(String(2))
    site_serial: Mapped[str] = mapped_column(String(6))
    agency: Mapped[Agency] = relationship(back_populates="sites")
    rooms: Mapped[list[Room]] = relationship(back_populates="site", order_by="Room.id")

    @property
    def code_prefix(self) -> str:
        """Positions 1–13 of the national certificate number."""
        return f"{self.agency.category}{self.agency.agency_code}{self.province_code}{self.site_serial}"


class Room(Base):
    """考场: a room of a site with its seat grid."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("site_id", "name"),
                      CheckConstraint("seat_rows > 0 and seat_cols > 0", name="grid"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(100))
    seat_rows: Mapped[int] = mapped_column(Integer)
    seat_cols: Mapped[int] = mapped_column(Integer)
    site: Mapped[Site] = relationship(back_populates="rooms")

    @property
    def capacity(self) -> int:
        return self.seat_rows * self.seat_cols


class AgencyScope(Base):
    """One approved (occupation, work type, level) of an agency; assessing outside it is a violation."""

    __tablename__ = "agency_scope"
    __table_args__ = (UniqueConstraint("agency_id", "occupation_id", "work_type_id", "level"),
                      CheckConstraint("level between 1 and 5", name="level"))
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    occupation_id: Mapped[int] = mapped_column(ForeignKey("occupation.id"))
    work_type_id: Mapped[int | None] = mapped_column(ForeignKey("work_type.id"))
    level: Mapped[int] = mapped_column(Integer)
    agency: Mapped[Agency] = relationship(back_populates="scope")
    occupation: Mapped[Occupation] = relationship()
    work_type: Mapped[WorkType | None] = relationship()


class RetiredCode(Base):
    """A cancelled agency's code (or site prefix); never assigned again."""

    __tablename__ = "retired_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # 'agency' (category+code) or 'site' (13-char prefix)
    retired_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(300), default="")
