"""What makes a column look personal: value shapes and name or comment keywords.

Pure functions, no database: discovery feeds them sampled values (kept in memory only) and
the schema's names and comments. A value detector answers yes or no for one value; the
keyword rules answer which (identity, category) a name or comment points to, and why.
"""

import datetime
import ipaddress
import re
from dataclasses import dataclass

# --- values ----------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-]")
_CN_MOBILE = re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}")
# One addr-spec, no spaces or quotes; good enough to tell an email column from others.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_RESIDENT_ID = re.compile(r"[1-9]\d{16}[\dXx]")
_DIGITS = re.compile(r"\d+")
_GROUPED_CARD = re.compile(r"\d{4}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?")
_NUMBER = r"[+\-]?\d{1,3}\.\d{3,}"  # coordinates come with three or more decimals
_PAIR = re.compile(rf"\(?\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})\s*\)?")
_WKT_POINT = re.compile(rf"POINT\s*\(\s*({_NUMBER})\s+({_NUMBER})\s*\)", re.IGNORECASE)
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:([:\-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Province, issuing-office letter (no I or O), then five characters, or six for new energy.
_PLATE = re.compile(rf"[{_PROVINCES}][A-HJ-NP-Z]·?(?:[A-HJ-NP-Z0-9]{{5}}|[DF][A-HJ-NP-Z0-9]{{5}})")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def is_cn_mobile(value: str) -> bool:
    """A mainland China mobile number: 11 digits from 13x to 19x, optionally after +86/0086."""
    return _CN_MOBILE.fullmatch(_SEPARATORS.sub("", value)) is not None


def is_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


def resident_id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a PRC resident ID (GB 11643-1999)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(value: str) -> bool:
    """An 18-character PRC resident ID with a real birth date and a valid check character."""
    if _RESIDENT_ID.fullmatch(value) is None:
        return False
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not datetime.date(1900, 1, 1) <= born <= datetime.date.today():
        return False
    return resident_id_check_digit(value[:17]) == value[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def is_bank_card(value: str) -> bool:
    """16 to 19 digits (bare, or in groups of four) passing the Luhn check."""
    if _GROUPED_CARD.fullmatch(value):
        value = _SEPARATORS.sub("", value)
    if not 16 <= len(value) <= 19 or _DIGITS.fullmatch(value) is None:
        return False
    return luhn_valid(value)


def is_imei(value: str) -> bool:
    """A 15-digit IMEI: its last digit is a Luhn check digit."""
    return len(value) == 15 and _DIGITS.fullmatch(value) is not None and luhn_valid(value)


def is_ip_address(value: str) -> bool:
    """An IPv4 address in dotted form or an IPv6 address (as `ipaddress` parses them)."""
    if not 2 <= len(value) <= 45 or ("." not in value and ":" not in value):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_mac_address(value: str) -> bool:
    return _MAC.fullmatch(value) is not None


def is_coordinate_pair(value: str) -> bool:
    """Latitude and longitude in one value, in either order: "39.9042,116.4074",
    "(31.2304 121.4737)" or WKT "POINT(116.4074 39.9042)"."""
    found = _WKT_POINT.fullmatch(value) or _PAIR.fullmatch(value)
    if found is None:
        return False
    first, second = (float(part) for part in found.groups())
    return (abs(first) <= 90 and abs(second) <= 180) or (abs(first) <= 180 and abs(second) <= 90)


def is_cn_plate(value: str) -> bool:
    """A mainland China licence plate, ordinary (京A12345) or new energy (粤BD12345)."""
    return _PLATE.fullmatch(value.replace(" ", "")) is not None


@dataclass(frozen=True)
class ValueRule:
    """A value shape: what it identifies, its category, how it reads in evidence, and how
    much one column of such values proves (a Luhn pass is one chance in ten by accident)."""

    test: object
    identity: str
    category: str
    label: str
    strength: float


VALUE_RULES: tuple[ValueRule, ...] = (
    ValueRule(is_email, "email", "contact", "email addresses", 0.95),
    ValueRule(is_cn_mobile, "phone", "contact", "CN mobile numbers", 0.9),
    ValueRule(is_resident_id, "id_card", "identity_document", "PRC resident ID numbers", 0.95),
    ValueRule(is_bank_card, "", "financial", "bank card numbers (Luhn)", 0.8),
    ValueRule(is_imei, "device_id", "device", "IMEI numbers (Luhn)", 0.8),
    ValueRule(is_ip_address, "", "online_identity", "IP addresses", 0.85),
    ValueRule(is_mac_address, "device_id", "device", "MAC addresses", 0.85),
    ValueRule(is_coordinate_pair, "", "location", "coordinate pairs", 0.85),
    ValueRule(is_cn_plate, "", "vehicle", "CN licence plates", 0.9),
)


# --- names and comments ----------------------------------------------------------------


@dataclass(frozen=True)
class KeywordRule:
    """Column names made of ``tokens`` (in this order, anywhere in the name) or comments
    containing one of ``comment_words`` point to (identity, category)."""

    identity: str
    category: str
    names: tuple[tuple[str, ...], ...]
    comment_words: tuple[str, ...] = ()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _names(*spellings: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(spelling.split("_")) for spelling in spellings)


# First match wins, so the specific rules ("ip_address", "email_address") come before the
# generic ones ("address"), and 姓名 is a name while 名称 (a thing's name) is nothing.
KEYWORD_RULES: tuple[KeywordRule, ...] = (
    KeywordRule("", "online_identity", _names("ip", "ipv4", "ipv6", "ip_addr"), ("IP地址", "IP")),
    KeywordRule(
        "device_id",
        "device",
        _names("imei", "idfa", "idfv", "oaid", "udid", "android_id", "device_id", "mac", "meid"),
        ("设备号", "设备标识", "设备ID", "IMEI", "IDFA", "OAID", "MAC地址"),
    ),
    KeywordRule(
        "email",
        "contact",
        _names("email", "e_mail", "mail", "mailbox"),
        ("邮箱", "电子邮件", "电子邮箱", "邮件地址", "email"),
    ),
    KeywordRule(
        "phone",
        "contact",
        _names("mobile", "phone", "tel", "telephone", "cellphone", "msisdn", "sjhm"),
        ("手机", "电话", "联系方式", "mobile", "phone"),
    ),
    KeywordRule(
        "id_card",
        "identity_document",
        _names("id_card", "idcard", "id_no", "id_number", "identity_card", "identity_no"),
        ("身份证", "居民身份"),
    ),
    KeywordRule(
        "",
        "identity_document",
        _names("passport", "cert_no", "ssn", "sfz", "sfzh", "license_no", "licence_no"),
        ("证件号", "护照", "驾驶证", "驾照"),
    ),
    KeywordRule(
        "open_id",
        "online_identity",
        _names("openid", "open_id", "unionid", "union_id", "wx_openid"),
        ("openid", "unionid", "OpenID", "UnionID"),
    ),
    KeywordRule(
        "",
        "financial",
        _names(
            "bank_card",
            "bank_account",
            "card_no",
            "card_number",
            "iban",
            "bank_no",
            "credit_score",
            "salary",
            "income",
            "account_balance",
            "wallet_balance",
        ),
        ("银行卡", "银行账号", "银行账户", "卡号", "开户", "收入", "工资", "薪资", "余额", "征信"),
    ),
    KeywordRule(
        "",
        "location",
        _names(
            "lat",
            "lng",
            "lon",
            "latitude",
            "longitude",
            "geo",
            "coordinate",
            "coordinates",
            "gps",
            "location",
            "geohash",
        ),
        ("经纬度", "经度", "纬度", "定位", "坐标", "GPS"),
    ),
    KeywordRule(
        "",
        "vehicle",
        _names("plate", "plate_no", "license_plate", "car_no", "vin", "chepai"),
        ("车牌", "车架号", "车辆识别"),
    ),
    KeywordRule(
        "",
        "contact",
        _names("address", "addr", "street", "postcode", "zipcode", "zip_code"),
        ("地址", "住址", "邮编", "收货地"),
    ),
    KeywordRule(
        "",
        "basic_profile",
        _names(
            "real_name",
            "full_name",
            "true_name",
            "first_name",
            "last_name",
            "surname",
            "given_name",
            "family_name",
            "contact_name",
            "receiver_name",
            "recipient_name",
            "consignee",
            "customer_name",
            "member_name",
            "user_name_cn",
            "xm",
            "xingming",
            "birthday",
            "birth_date",
            "birthdate",
            "dob",
            "gender",
            "sex",
            "age",
            "nationality",
            "ethnicity",
            "marital_status",
            "avatar",
        ),
        (
            "姓名",
            "真实姓名",
            "联系人",
            "收货人",
            "收件人",
            "出生",
            "生日",
            "性别",
            "年龄",
            "民族",
            "国籍",
            "婚姻",
            "头像",
        ),
    ),
    KeywordRule(
        "",
        "online_identity",
        _names(
            "username",
            "user_name",
            "nickname",
            "nick_name",
            "nick",
            "login_name",
            "account_name",
            "screen_name",
        ),
        ("用户名", "昵称", "登录名", "账号"),
    ),
    KeywordRule(
        "",
        "biometric",
        _names("face", "face_image", "face_feature", "fingerprint", "voiceprint", "iris"),
        ("人脸", "指纹", "声纹", "虹膜", "面部"),
    ),
    KeywordRule(
        "",
        "health",
        _names(
            "diagnosis", "medical", "medical_record", "blood_type", "allergy", "illness", "symptom"
        ),
        ("病历", "诊断", "病史", "血型", "过敏", "病情", "体检"),
    ),
    KeywordRule(
        "",
        "education_work",
        _names("employer", "job_title", "occupation", "school", "education", "degree", "work_unit"),
        ("职业", "工作单位", "学历", "学校", "职位", "毕业院校"),
    ),
    KeywordRule(
        "",
        "online_activity",
        _names("search_keyword", "search_query", "browse_history", "user_agent"),
        ("搜索记录", "浏览记录", "搜索词", "浏览历史"),
    ),
)

# A column of something that is not a person: a warehouse's address, a server's IP, a
# product's name. These qualifiers veto a keyword match (values still speak for themselves).
THING_TOKENS = _words(
    "product sku goods item model warehouse store shop merchant supplier vendor company brand "
    "category file table column server host gateway proxy nas cdn bucket template"
)
THING_WORDS = (
    "商品",
    "型号",
    "仓库",
    "门店",
    "商家",
    "店铺",
    "供应商",
    "公司",
    "品牌",
    "分类",
    "服务器",
    "网关",
    "模板",
    "文件",
)

# A column about the personal value, not the value: whether an email was verified, when a
# phone was bound, how many IPs were seen. They veto every rule except the basic profile's
# (a birth date is a date, a gender often a number).
ABOUT_TOKENS = _words(
    "verified verify confirmed bound count cnt status state flag enabled disabled type is has "
    "at time changed sent valid"
)
ABOUT_WORDS = ("状态", "类型", "时间", "次数", "是否", "数量", "标志", "标识位")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def name_tokens(name: str) -> tuple[str, ...]:
    """``customerMobileNo`` and ``customer_mobile_no`` both read (customer, mobile, no)."""
    return tuple(token.lower() for token in _NON_WORD.split(_CAMEL.sub("_", name)) if token)


def _phrases(tokens: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Every run of one to three consecutive tokens: what a rule's spelling is looked up in."""
    return {tokens[i : i + size] for size in (1, 2, 3) for i in range(len(tokens) - size + 1)}


@dataclass(frozen=True)
class KeywordMatch:
    identity: str
    category: str
    evidence: str


def match_name(name: str) -> KeywordMatch | None:
    """The first keyword rule a column name matches, unless it names a thing's attribute."""
    tokens = name_tokens(name)
    if THING_TOKENS.intersection(tokens):
        return None
    about = bool(ABOUT_TOKENS.intersection(tokens))
    phrases = _phrases(tokens)
    for rule in KEYWORD_RULES:
        if about and rule.category != "basic_profile":
            continue
        for phrase in rule.names:
            if phrase in phrases:
                return KeywordMatch(rule.identity, rule.category, f"name: {'_'.join(phrase)}")
    return None


def _has_word(comment: str, word: str) -> bool:
    if not word.isascii():
        return word in comment
    # English words as whole words: "IP" in "IP地址", never in "ship" or "zip".
    pattern = rf"(?<![a-z]){re.escape(word.casefold())}(?![a-z])"
    return re.search(pattern, comment.casefold()) is not None


def match_comment(comment: str) -> KeywordMatch | None:
    """The first keyword rule a column comment matches (Chinese or English words)."""
    if not comment or any(word in comment for word in THING_WORDS):
        return None
    about = any(word in comment for word in ABOUT_WORDS)
    for rule in KEYWORD_RULES:
        if about and rule.category != "basic_profile":
            continue
        for word in rule.comment_words:
            if _has_word(comment, word):
                return KeywordMatch(rule.identity, rule.category, f"comment: {word}")
    return None


def singular(noun: str) -> str:
    """English plural to singular, as table names use it: users, addresses, categories."""
    for plural, one in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if noun.endswith(plural):
            return noun[: -len(plural)] + one
    if noun.endswith("s") and not noun.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def is_account_name(name: str) -> bool:
    """``user_id``, ``uid``, ``memberNo``, ``buyer_id``: the id of a person in some table."""
    tokens = name_tokens(name)
    if tokens in (("uid",), ("userid",), ("memberid",)):
        return True
    return (
        len(tokens) >= 2
        and tokens[-1] in ("id", "no", "code")
        and singular(tokens[-2]) in PEOPLE_NOUNS
    )


# Tables that hold people: their primary key is an account id, and a column pointing at it
# identifies the subject in the table that holds it.
PEOPLE_NOUNS = _words(
    "user member customer account buyer client consumer subscriber patient student employee "
    "passenger driver person player contact"
)
PEOPLE_WORDS = ("用户", "会员", "客户", "顾客", "买家", "乘客", "患者", "学生", "员工", "司机")
