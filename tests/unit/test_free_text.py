"""Phone and ID numbers in citizens' free text: found and masked, and nothing else taken for one."""

import secrets

import pytest

from dispatch_common.crypto import KeyRing, PiiKeys, UndecryptableError
from dispatch_common.free_text import default_detector, id_check_character, protect, reveal

ID_18 = "15010219800307" + "123"
ID_18 += id_check_character(ID_18)
ID_18_X = "11010519491231002"
ID_18_X += id_check_character(ID_18_X)  # this one ends in X
ID_15 = "150102800307123"
KEYS = PiiKeys(KeyRing("k1", {"k1": secrets.token_bytes(32)}), secrets.token_bytes(32))

FOUND = [
    # (text, the numbers in it as written, the masked text)
    ("我的电话是13812345678，请尽快联系。", ["13812345678"], "我的电话是138****5678，请尽快联系。"),
    ("联系方式：138 1234 5678，白天打。", ["138 1234 5678"], "联系方式：138 **** 5678，白天打。"),
    ("回电139-0471-2233谢谢", ["139-0471-2233"], "回电139-****-2233谢谢"),
    ("家属电话+86 15647112345，本人电话8618647100001", ["+86 15647112345", "8618647100001"], None),
    ("打了物业电话0471-6612345转801没人接", ["0471-6612345"], "打了物业电话047*-***2345转801没人接"),
    ("座机（0471）6612345，或者04716612346", ["（0471）6612345", "04716612346"], None),
    ("北京的亲戚010-62345678也反映过", ["010-62345678"], "北京的亲戚010-****5678也反映过"),
    ("电话１３８１２３４５６７８（全角）", ["１３８１２３４５６７８"], "电话１３８****５６７８（全角）"),
    (f"本人身份证号{ID_18}，要求查询低保审批。", [ID_18], None),
    (f"身份证{ID_18_X.lower()}丢失补办", [ID_18_X.lower()], None),
    (f"老身份证号码是{ID_15}，一直没换", [ID_15], None),
    (
        f"我叫王某，身份证{ID_18}，手机13912345678，孩子在幸福小学上学，学校电话0471-5201234。",
        [ID_18, "13912345678", "0471-5201234"],
        None,
    ),
]

NOT_FOUND = [
    "事项编号990102-2026-000123已经办了三个月，还没有结果。",
    "2026年3月15日14:30反映过，日期写的是2026-03-15，编号20260315001。",
    "欠薪15000元，总共13800000000元的工程款没结清。",
    "工资13812345678元是写错了，应该是一万三千八百元。",
    "订单号13812345678一直没有发货。",
    "幸福路88号3栋2单元1501室楼上漏水，小区在新华街138号。",
    "工资卡号6222021234567890123被冻结了。",
    "邮编010010，拨打12345热线和110都没人管，12315也打过。",
    "车牌蒙A12345的车天天占道，车架号LSVAU2180N2183294。",
    "面积138.5平方米，房价每平13812元，共12345678元。",
    f"身份证号{ID_18[:17]}{'0' if ID_18[17] != '0' else '1'}校验位不对。",  # wrong check digit
    "号码150102801332123的日期不存在。",  # 15 digits with month 13
    "快递单号 SF1381234567890 查不到。",
    "手机串号IMEI 350102800307123 被盗。",
]


@pytest.mark.parametrize(("text", "numbers", "masked"), FOUND)
def test_phone_and_id_numbers_in_free_text_are_found_and_masked(text, numbers, masked):
    found = default_detector().find(text)
    assert [f.value for f in found] == numbers
    result = default_detector().mask(text)
    assert len(result) == len(text)
    for f in found:
        assert f.value not in result
        country_code = 2 if f.masked.startswith(("+86", "86")) else 0
        assert sum(ch.isdigit() for ch in f.masked) <= 7 + country_code  # 3 shown first, 4 last
    if masked is not None:
        assert result == masked


@pytest.mark.parametrize("text", NOT_FOUND)
def test_case_numbers_dates_money_house_numbers_and_other_numbers_are_left_alone(text):
    assert default_detector().find(text) == []
    assert default_detector().mask(text) == text


def test_protected_text_keeps_the_clear_values_sealed_aside_for_its_record_and_field():
    text = f"联系人13812345678，身份证{ID_18}，备用0471-6612345。"
    masked, values = protect(KEYS, text, aad="case:c-1|text")
    assert masked == default_detector().mask(text)
    assert [v["kind"] for v in values] == ["phone", "id_number", "phone"]
    assert all("13812345678" not in v["enc"] and v["enc"].startswith("v2.k1.") for v in values)
    assert reveal(KEYS, masked, values, aad="case:c-1|text") == text
    with pytest.raises(UndecryptableError):
        reveal(KEYS, masked, values, aad="case:c-2|text")  # copied to another case
    assert protect(KEYS, "路灯坏了", aad="case:c-1|text") == ("路灯坏了", [])
