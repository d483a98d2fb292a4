"""The detectors one value or one name at a time: no database."""

import pytest

from dsar.datamap import detectors as d


@pytest.mark.parametrize(
    "value",
    ["13800138000", "+8613912345678", "+86 139 1234 5678", "008618612345678", "199-0000-1111"],
)
def test_cn_mobile_numbers_in_their_usual_forms(value):
    assert d.is_cn_mobile(value)


@pytest.mark.parametrize(
    "value",
    ["12800138000", "1380013800", "138001380001", "010-62345678", "+1 415 555 0100", "1.38e10"],
)
def test_not_cn_mobile_numbers(value):
    assert not d.is_cn_mobile(value)


def test_email_addresses():
    assert d.is_email("li.lei+dsar@example.com.cn")
    assert not d.is_email("li.lei@localhost")
    assert not d.is_email("Li Lei <li.lei@example.com>")
    assert not d.is_email("@example.com")


def test_resident_id_check_digit_is_iso_7064_mod_11_2():
    # GB 11643-1999's own example: 11010519491231002X.
    assert d.resident_id_check_digit("11010519491231002") == "X"
    assert d.is_resident_id("11010519491231002X")
    assert d.is_resident_id("11010519491231002x")


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "110105194902300028",  # 30 February (its check digit is right)
        "11010518991231002X",  # born before 1900
        "01010519491231002X",  # no area code starts with 0
        "11010519491231002",  # 17 characters
    ],
)
def test_not_resident_ids(value):
    assert not d.is_resident_id(value)


def test_bank_cards_pass_luhn_with_16_to_19_digits():
    assert d.is_bank_card("4111111111111111")
    assert d.is_bank_card("4111 1111 1111 1111")
    assert d.is_bank_card("6222021234567890128")  # 19 digits
    assert not d.is_bank_card("4111111111111112")  # Luhn fails
    assert not d.is_bank_card("411111111111")  # too short
    assert not d.is_bank_card("79927398713")  # passes Luhn, 11 digits


def test_imei_is_15_digits_with_a_luhn_check_digit():
    assert d.is_imei("490154203237518")
    assert not d.is_imei("490154203237519")
    assert not d.is_imei("4901542032375180")


def test_ip_addresses_v4_and_v6():
    assert d.is_ip_address("192.168.1.20")
    assert d.is_ip_address("2001:db8::8a2e:370:7334")
    assert d.is_ip_address("::1")
    for value in ("1.2.3", "10.0.4", "256.1.1.1", "12:30", "deadbeef", "1"):
        assert not d.is_ip_address(value), value


def test_mac_addresses():
    assert d.is_mac_address("00:1A:2B:3C:4D:5E")
    assert d.is_mac_address("00-1a-2b-3c-4d-5e")
    assert not d.is_mac_address("00:1A-2B:3C:4D:5E")


def test_coordinate_pairs_in_either_order_and_as_wkt():
    assert d.is_coordinate_pair("39.904211,116.407395")
    assert d.is_coordinate_pair("116.407395, 39.904211")
    assert d.is_coordinate_pair("(31.2304 121.4737)")
    assert d.is_coordinate_pair("POINT(116.4074 39.9042)")


@pytest.mark.parametrize("value", ["12.5,30.0", "1,2", "95.1234,200.1234", "39.904211", "3.14159"])
def test_not_coordinate_pairs(value):
    assert not d.is_coordinate_pair(value)


def test_licence_plates():
    assert d.is_cn_plate("京A12345")
    assert d.is_cn_plate("粤BD12345")  # new energy
    assert d.is_cn_plate("沪A·8K8K8")
    assert not d.is_cn_plate("京I12345")  # no office letter I
    assert not d.is_cn_plate("AB12345")


def test_name_tokens_read_snake_and_camel_case_alike():
    assert d.name_tokens("customerMobileNo") == ("customer", "mobile", "no")
    assert d.name_tokens("customer_mobile_no") == d.name_tokens("customerMobileNo")
    assert d.name_tokens("IDCard") == ("idcard",)


@pytest.mark.parametrize(
    ("name", "identity", "category"),
    [
        ("mobile", "phone", "contact"),
        ("contactPhone", "phone", "contact"),
        ("email_address", "email", "contact"),
        ("ip_address", "", "online_identity"),
        ("mac_address", "device_id", "device"),
        ("shipping_address", "", "contact"),
        ("id_card_no", "id_card", "identity_document"),
        ("passport", "", "identity_document"),
        ("wx_openid", "open_id", "online_identity"),
        ("bank_card_no", "", "financial"),
        ("latitude", "", "location"),
        ("plate_no", "", "vehicle"),
        ("real_name", "", "basic_profile"),
        ("birthday", "", "basic_profile"),
        ("imei", "device_id", "device"),
    ],
)
def test_names_point_to_identity_and_category(name, identity, category):
    match = d.match_name(name)
    assert (match.identity, match.category) == (identity, category)


@pytest.mark.parametrize(
    "name",
    [
        "product_name",
        "phone_model",
        "warehouse_address",
        "server_ip",
        "email_verified",
        "mobile_bound_at",
        "ip_count",
        "status",
        "total_amount",
        "name",
        "hotel",
        "zip",
    ],
)
def test_names_of_things_or_about_personal_values_point_nowhere(name):
    assert d.match_name(name) is None


@pytest.mark.parametrize(
    ("comment", "identity", "category", "evidence"),
    [
        ("手机号", "phone", "contact", "comment: 手机"),
        ("用户邮箱", "email", "contact", "comment: 邮箱"),
        ("真实姓名", "", "basic_profile", "comment: 姓名"),
        ("身份证号码", "id_card", "identity_document", "comment: 身份证"),
        ("收货地址", "", "contact", "comment: 地址"),
        ("登录IP地址", "", "online_identity", "comment: IP地址"),
        ("经纬度", "", "location", "comment: 经纬度"),
        ("车牌号", "", "vehicle", "comment: 车牌"),
        ("银行卡号", "", "financial", "comment: 银行卡"),
        ("设备IMEI", "device_id", "device", "comment: IMEI"),
        ("出生日期", "", "basic_profile", "comment: 出生"),
        ("User mobile", "phone", "contact", "comment: mobile"),
    ],
)
def test_comments_point_to_identity_and_category(comment, identity, category, evidence):
    match = d.match_comment(comment)
    assert (match.identity, match.category, match.evidence) == (identity, category, evidence)


@pytest.mark.parametrize(
    "comment",
    [
        "商品名称",
        "分类名称",
        "仓库地址",
        "手机型号",
        "邮箱是否验证",
        "手机验证时间",
        "zip code",
        "shipping fee",
        "",
    ],
)
def test_comments_of_things_or_about_personal_values_point_nowhere(comment):
    assert d.match_comment(comment) is None


def test_account_names():
    for name in ("user_id", "uid", "memberNo", "buyer_id", "customers_id", "patient_code"):
        assert d.is_account_name(name), name
    for name in ("order_id", "product_id", "id", "user", "userAgent"):
        assert not d.is_account_name(name), name


def test_singular_of_table_names():
    assert [d.singular(w) for w in ("users", "addresses", "categories", "status", "boxes")] == [
        "user",
        "address",
        "category",
        "status",
        "box",
    ]
