"""The 2018 catalogue of the seed document (DOMAIN.md §1 and §5), recorded as
events: the allocation table of JGSW01001 §5 is what is loaded; where the
source contradicts itself, the contradiction is kept as the reason on the
event it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from eventsourcing.persistence import IntegrityError

from lifecycle import numbering
from lifecycle.domain import Standard

if TYPE_CHECKING:
    from lifecycle.application import StandardsApp

SOURCE = "《云南省机关事务管理工作标准汇编 一、基础通用标准 (试行)》2018"
ADMINISTRATION = "云南省机关事务管理局"   # 提出并批准 (JGSW01001 附加说明)
POLICY_OFFICE = "政策法规处"              # numbers and manages the standards (JGSW01001 §3)
DRAFTING_UNITS = ["云南省机关事务管理局", "云南云天咨询有限公司"]

APPROVED_ON = date(2018, 12, 31)  # the source gives the approval year only
ISSUED_ON = date(2018, 12, 31)
EFFECTIVE_ON = date(2019, 1, 1)


@dataclass(frozen=True)
class Entry:
    number: str
    title: str
    issued: bool = False
    reasons: dict[str, str] = field(default_factory=dict)  # event -> reason
    references: tuple[str, ...] = ()  # normative references, as the register writes them


TABLE_NOTE = f"JGSW01001 §5 allocation table, {SOURCE}"
SUB_ITEM_CLASH = (
    "known discrepancy: JGSW01001 §4.3 and the §5 table give 05001 公务接待 and 05004 绿化, "
    "while JGSW01001 §4.5 and JGSW01002 §2.2.2 call 绿化服务工作指南 05001 and list 公务接待 as "
    "05004; the §5 table is the allocation itself and is what is recorded"
)

CATALOGUE_2018 = (
    Entry("JGSW01001—2018", "内部标准编号规则", issued=True, reasons={
        "issued": "issued 2018-12-31, on trial (试行) from 2019-01-01 (JGSW01001 附加说明); "
                  "the source mixes the separators '—' and '-' in numbers, recorded with '—'",
    }),
    Entry("JGSW01002—2018", "基础通用标准 基础和术语", issued=True, reasons={
        "issued": "issued 2018-12-31, on trial (试行) from 2019-01-01; known discrepancy: "
                  "JGSW01002 §2.3.1 cites 基础和术语 as 'JGSW/01001-2018' and 标准化导则 as "
                  "'JGSW01002-2018', both wrong numbers (they are JGSW01002—2018 and JGSW01003—2018)",
    }),
    Entry("JGSW01003—2018", "基础通用标准 标准化导则", issued=True, references=(
        # JGSW01003 §2 cites by title only, all undated (DOMAIN.md §7): 基础和术语,
        # 编号规则, three category standards the 2018 table does not number, and
        # 后勤服务管理标准 要求, taken as JGSW05000 后勤服务标准 要求.
        "JGSW01002", "JGSW01001", "机关经费管理标准 要求", "资产管理标准 要求",
        "公共机构节约能源资源标准 要求", "JGSW05000",
    ), reasons={
        "drafted": "known discrepancy: the cover of JGSW01003 reads 'YNJGSW01003-2018'; "
                   "the number is JGSW01003—2018. Its §2 cites its normative references by title "
                   "only: 基础和术语 is JGSW01002, 编号规则 JGSW01001, 后勤服务管理标准 要求 is taken as "
                   "JGSW05000 (后勤服务标准 要求); the three other category standards are not numbered "
                   "yet and are kept as planned references by title",
        "issued": "issued 2018-12-31 from 2019-01-01 on trial: the title says 试行 while the "
                  "cover says 实施; recorded as 试行, like the other two of the compilation",
    }),
    Entry("JGSW01004—2018", "基础通用标准 评价指标体系", reasons={
        "approved": "known discrepancy: the §5 table lists 01004 评价指标体系, but the sentence "
                    "before it sets JGSW01004 apart from this round of standardisation; the "
                    "number is allocated as the table says, and it is not issued",
    }),
    Entry("JGSW05000—2018", "后勤服务标准 要求"),
    Entry("JGSW05001—2018", "后勤服务管理标准 公务接待工作指南", reasons={"drafted": SUB_ITEM_CLASH}),
    Entry("JGSW05002—2018", "后勤服务管理标准 会议服务工作指南"),
    Entry("JGSW05003—2018", "后勤服务管理标准 物业服务工作指南"),
    Entry("JGSW05004—2018", "后勤服务管理标准 绿化服务工作指南", reasons={"drafted": SUB_ITEM_CLASH}),
)


def build(entry: Entry) -> Standard:
    """The standard's whole 2018 history, as pending events of one aggregate."""
    number = numbering.parse_edition(entry.number)
    why = entry.reasons
    standard = Standard.create(
        number.code,
        {"title": entry.title, "owner_department": POLICY_OFFICE,
         "drafting_units": DRAFTING_UNITS if entry.issued else [], "references": list(entry.references)},
        actor=POLICY_OFFICE, reason=why.get("drafted", TABLE_NOTE),
    )
    standard.submit(actor=POLICY_OFFICE, reason=why.get("submitted"))
    standard.approve(APPROVED_ON, today=date.max, actor=ADMINISTRATION,
                     reason=why.get("approved", "approved in 2018 (year code 2018); "
                                    "the source does not give the day"))
    if entry.issued:
        standard.publish(ISSUED_ON, EFFECTIVE_ON, trial=True, actor=ADMINISTRATION,
                         reason=why.get("issued"))
    return standard


def seed(app: StandardsApp) -> list[str]:
    """Record every standard of the 2018 catalogue that is not yet in the store.
    Returns the numbers recorded now; a second run records none."""
    recorded = []
    for entry in CATALOGUE_2018:
        code = str(numbering.parse_edition(entry.number).code)
        if app.reads.exists(code):
            continue
        try:
            app.record(build(entry))
        except IntegrityError:
            continue  # recorded by a concurrent seed a moment ago
        recorded.append(entry.number)
    return recorded
