"""A downstream shop with personal data spread over 26 tables, no declared foreign keys and
Chinese column comments, built once per session on real PostgreSQL and on real MariaDB.

``PERSONAL`` lists every column the test seeded with personal data, with the identity and
category discovery should propose; ``NOT_PERSONAL`` lists columns that must never be proposed,
many of them chosen to look tempting (long digit strings, a phone model, a warehouse's
address, a verified-email flag).
"""

import datetime
import os
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dsar.datamap.detectors import luhn_valid, resident_id_check_digit
from tests.datamap.shop import server_dsn, shop  # noqa: F401 (the map tests' shop)

ROWS = 60  # more than the default sample of 50


# --- values --------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def luhn_complete(digits: str) -> str:
    return next(digits + d for d in "0123456789" if luhn_valid(digits + d))


def cn_mobile(r, i):
    number = f"1{r.choice('3456789')}{r.randrange(10**9):09d}"
    return f"+86 {number}" if i % 7 == 0 else number


def email(r, i):
    return f"user{i}.{r.randrange(10**6)}@{r.choice(['example.com', 'mail.cn', 'qq.com'])}"


def resident_id(r, i):
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=r.randrange(20000))
    first17 = (
        f"{r.choice(['110105', '310104', '440305', '510107'])}{born:%Y%m%d}{r.randrange(1000):03d}"
    )
    return first17 + resident_id_check_digit(first17)


def bank_card(r, i):
    length = r.choice([16, 19])
    return luhn_complete("622202" + "".join(r.choice("0123456789") for _ in range(length - 7)))


def imei(r, i):
    return luhn_complete("86" + "".join(r.choice("0123456789") for _ in range(12)))


def ipv4(r, i):
    return ".".join(str(r.randrange(1, 255)) for _ in range(4))


def ipv6(r, i):
    return f"2001:db8:{r.randrange(65536):x}::{r.randrange(65536):x}"


def coordinates(r, i):
    return f"{r.uniform(18, 53):.6f},{r.uniform(73, 135):.6f}"


def plate(r, i):
    tail = "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5))
    return f"{r.choice('京沪粤浙苏川')}{r.choice('ABCDE')}{tail}"


def mac(r, i):
    return ":".join(f"{r.randrange(256):02X}" for _ in range(6))


def person_name(r, i):
    return r.choice(SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice([1, 2])))


def address(r, i):
    district = r.choice(["北京市朝阳区", "上海市浦东新区", "深圳市南山区"])
    return f"{district}建设路{r.randrange(1, 300)}号"


def landline(r, i):
    return f"010-{r.randrange(10**7, 10**8)}"


def date(r, i):
    return datetime.date(1960, 1, 1) + datetime.timedelta(days=r.randrange(15000))


def moment(r, i):
    return datetime.datetime(2025, 1, 1) + datetime.timedelta(seconds=r.randrange(3 * 10**7))


def pick(*choices):
    return lambda r, i: r.choice(choices)


def digits(n):
    return lambda r, i: f"{r.randrange(1, 10)}{r.randrange(10 ** (n - 1)):0{n - 1}d}"


def number(low, high):
    return lambda r, i: r.randrange(low, high)


def money(r, i):
    return Decimal(r.randrange(100, 10**6)) / 100


def ean13(r, i):
    body = f"690{r.randrange(10**9):09d}"
    total = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def ref(n):
    return lambda r, i: r.randrange(1, n + 1)


def row_id(r, i):
    return i + 1


def text(r, i):
    return r.choice(["请尽快发货", "包装破损，申请退款", "谢谢", "发票抬头请写公司"])


def hexdigest(r, i):
    return f"{r.getrandbits(128):032x}"


# --- the schema ------------------------------------------------------------------------------


@dataclass
class Col:
    name: str
    type: object
    make: object
    comment: str = ""
    identity: str | None = None  # None: not personal; "" or a key: personal
    category: str = ""
    key: bool = False


@dataclass
class Tab:
    name: str
    comment: str
    columns: list = field(default_factory=list)


def pk(name="id"):
    return Col(name, sa.Integer, row_id, key=True)


def P(name, type_, make, comment="", identity="", category="contact"):  # noqa: N802
    return Col(name, type_, make, comment, identity, category)


def N(name, type_, make, comment=""):  # noqa: N802
    return Col(name, type_, make, comment)


S = sa.String
TABLES = [
    Tab(
        "users",
        "用户表",
        [
            P("id", sa.Integer, row_id, identity="account_id", category="online_identity"),
            P("username", S(32), lambda r, i: f"u{i}x", "用户名", category="online_identity"),
            P("real_name", S(32), person_name, "真实姓名", category="basic_profile"),
            P("mobile", S(20), cn_mobile, "手机号", identity="phone"),
            P("email", S(64), email, "邮箱", identity="email"),
            P("id_card", S(18), resident_id, "身份证号", "id_card", "identity_document"),
            P("gender", sa.SmallInteger, number(0, 3), "性别", category="basic_profile"),
            P("birthday", sa.Date, date, "生日", category="basic_profile"),
            P(
                "avatar",
                S(128),
                lambda r, i: f"https://cdn.example.com/a/{i}.png",
                "头像",
                category="basic_profile",
            ),
            N("status", S(16), pick("active", "frozen"), "账号状态"),
            N("email_verified", sa.Boolean, pick(True, False), "邮箱是否验证"),
            N("mobile_verified_at", sa.DateTime, moment, "手机验证时间"),
            N("created_at", sa.DateTime, moment, "创建时间"),
        ],
    ),
    Tab(
        "user_addresses",
        "收货地址",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("receiver_name", S(32), person_name, "收货人", category="basic_profile"),
            P("receiver_phone", S(20), cn_mobile, "收货人电话", identity="phone"),
            P("detail_address", S(128), address, "详细地址"),
            N("is_default", sa.Boolean, pick(True, False), "是否默认"),
        ],
    ),
    Tab(
        "t_member",
        "会员信息",
        [
            P("member_id", sa.Integer, row_id, identity="account_id", category="online_identity"),
            P("nickname", S(32), lambda r, i: f"小{i}", "昵称", category="online_identity"),
            P(
                "wx_openid",
                S(40),
                lambda r, i: f"oAbc{r.getrandbits(96):024x}",
                "微信openid",
                "open_id",
                "online_identity",
            ),
            P("register_ip", S(45), ipv4, "注册IP", category="online_identity"),
            N("level", sa.SmallInteger, number(1, 6), "会员等级"),
            N("points", sa.Integer, number(0, 100000), "积分"),
            N("login_count", sa.Integer, number(0, 999), "登录次数"),
        ],
    ),
    Tab(
        "points_log",
        "积分流水",
        [
            pk(),
            P(
                "member_id",
                sa.Integer,
                ref(ROWS),
                identity="account_id",
                category="online_identity",
            ),
            N("delta", sa.Integer, number(-500, 500), "变动积分"),
            N("reason", S(32), pick("下单", "签到", "退款"), "原因"),
        ],
    ),
    Tab(
        "orders",
        "订单",
        [
            N("id", sa.Integer, row_id),
            N("order_no", S(32), digits(19), "订单号"),
            P(
                "user_id",
                sa.BigInteger,
                ref(ROWS),
                identity="account_id",
                category="online_identity",
            ),
            N("total_amount", sa.Numeric(12, 2), money, "订单金额"),
            N("item_count", sa.Integer, number(1, 20), "件数"),
            N("status", S(16), pick("PAID", "SHIPPED", "DONE"), "订单状态"),
            N("created_at", sa.DateTime, moment, "下单时间"),
            N("paid_at", sa.DateTime, moment, "支付时间"),
            P(
                "contact", S(20), cn_mobile, identity="phone"
            ),  # values only: no telling name, no comment
            P("delivery_address", S(128), address, "收货地址"),
            N("remark_code", S(8), pick("A1", "B2", "C3"), "备注代码"),
        ],
    ),
    Tab(
        "order_items",
        "订单明细",
        [
            N("id", sa.Integer, row_id),
            N("order_id", sa.Integer, ref(ROWS), "订单ID"),
            N("product_id", sa.Integer, ref(ROWS), "商品ID"),
            N("sku_code", S(16), lambda r, i: f"SKU-{r.randrange(10**6):06d}", "SKU编码"),
            N("quantity", sa.Integer, number(1, 10), "数量"),
            N("unit_price", sa.Numeric(10, 2), money, "单价"),
        ],
    ),
    Tab(
        "products",
        "商品",
        [
            N("id", sa.Integer, row_id),
            N("product_name", S(64), pick("小米手机 14", "华为 Mate 60", "充电器"), "商品名称"),
            N("sku_barcode", S(13), ean13, "条形码"),
            N("price", sa.Numeric(10, 2), money, "价格"),
            N("stock", sa.Integer, number(0, 5000), "库存"),
            N("category_id", sa.Integer, ref(ROWS), "分类"),
            N("phone_model", S(32), pick("Mate 60", "iPhone 15"), "手机型号"),
        ],
    ),
    Tab(
        "categories",
        "商品分类",
        [
            N("id", sa.Integer, row_id),
            N("name", S(32), pick("手机", "家电", "服饰"), "分类名称"),
            N("parent_id", sa.Integer, ref(10), "上级分类"),
        ],
    ),
    Tab(
        "warehouses",
        "仓库",
        [
            N("id", sa.Integer, row_id),
            N("name", S(32), pick("华北仓", "华东仓"), "仓库名称"),
            N("warehouse_address", S(128), address, "仓库地址"),
            N("capacity", sa.Integer, number(1000, 90000), "容量"),
        ],
    ),
    Tab(
        "payments",
        "支付记录",
        [
            pk(),
            N("order_id", sa.Integer, ref(ROWS), "订单ID"),
            P("bank_card_no", S(19), bank_card, "银行卡号", category="financial"),
            N("amount", sa.Numeric(12, 2), money, "金额"),
            N("trade_no", S(32), hexdigest, "交易流水号"),
            N("paid_at", sa.DateTime, moment, "支付时间"),
        ],
    ),
    Tab(
        "login_log",
        "登录日志",
        [
            pk(),
            P("uid", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("login_ip", S(45), ipv4, "登录IP", category="online_identity"),
            P(
                "user_agent",
                S(200),
                pick("Mozilla/5.0 (iPhone)", "okhttp/4.9"),
                "UA",
                category="online_activity",
            ),
            P("device_id", S(32), imei, "设备ID", "device_id", "device"),
            N("success", sa.Boolean, pick(True, False), "是否成功"),
            N("login_at", sa.DateTime, moment, "登录时间"),
        ],
    ),
    Tab(
        "devices",
        "设备",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("imei", S(15), imei, "", "device_id", "device"),
            P(
                "idfa",
                S(36),
                lambda r, i: str(uuid.UUID(int=r.getrandbits(128))),
                "",
                "device_id",
                "device",
            ),
            P("mac", S(17), mac, "", "device_id", "device"),
            N("os_version", S(16), pick("iOS 17.2", "Android 14"), "系统版本"),
            N("app_version", S(16), pick("1.2.3", "2.0.1"), "应用版本"),
        ],
    ),
    Tab(
        "trips",
        "行程",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("start_point", S(40), coordinates, "起点坐标", category="location"),
            P("end_point", S(40), coordinates, "终点", category="location"),  # values only
            N("distance_km", sa.Numeric(8, 2), money, "里程"),
            N("fare", sa.Numeric(8, 2), money, "车费"),
            N("started_at", sa.DateTime, moment, "出发时间"),
        ],
    ),
    Tab(
        "locations",
        "定位上报",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("lat", sa.Float, lambda r, i: r.uniform(18, 53), "纬度", category="location"),
            P("lng", sa.Float, lambda r, i: r.uniform(73, 135), "经度", category="location"),
            N("accuracy", sa.Float, lambda r, i: r.uniform(1, 50), "精度(米)"),
            N("reported_at", sa.DateTime, moment, "上报时间"),
        ],
    ),
    Tab(
        "drivers",
        "司机",
        [
            P("id", sa.Integer, row_id, identity="account_id", category="online_identity"),
            P("name", S(32), person_name, "姓名", category="basic_profile"),
            P("license_no", S(18), resident_id, "驾驶证号", "id_card", "identity_document"),
            N(
                "rating",
                sa.Numeric(3, 2),
                lambda r, i: Decimal(r.randrange(300, 500)) / 100,
                "评分",
            ),
        ],
    ),
    Tab(
        "vehicles",
        "车辆",
        [
            pk(),
            P(
                "driver_id",
                sa.Integer,
                ref(ROWS),
                identity="account_id",
                category="online_identity",
            ),
            P("plate_no", S(10), plate, "车牌号", category="vehicle"),
            N("color", S(8), pick("白", "黑", "银"), "颜色"),
            N("seats", sa.SmallInteger, number(4, 8), "座位数"),
        ],
    ),
    Tab(
        "customers",
        "企业客户联系人",
        [
            P("id", sa.Integer, row_id, identity="account_id", category="online_identity"),
            P("customer_name", S(32), person_name, "", category="basic_profile"),
            P("email_address", S(64), email, "", identity="email"),
        ],
    ),
    Tab(
        "invoices",
        "发票",
        [
            pk(),
            P(
                "customer_id",
                sa.Integer,
                ref(ROWS),
                identity="account_id",
                category="online_identity",
            ),
            N("tax_no", S(18), lambda r, i: f"91110000MA{r.randrange(10**8):08d}", "税号"),
            N("amount", sa.Numeric(12, 2), money, "金额"),
            N("issued_at", sa.DateTime, moment, "开票时间"),
        ],
    ),
    Tab(
        "medical_records",
        "体检记录",
        [
            pk(),
            P(
                "patient_id",
                S(16),
                lambda r, i: f"P{i:06d}",
                identity="account_id",
                category="online_identity",
            ),
            P("diagnosis", S(64), pick("高血压", "正常"), "诊断结果", category="health"),
            P("blood_type", S(4), pick("A", "B", "O", "AB"), "血型", category="health"),
        ],
    ),
    Tab(
        "support_tickets",
        "工单",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("ext1", S(64), email, identity="email"),  # values only
            N("priority", sa.SmallInteger, number(1, 4), "优先级"),
            N("created_at", sa.DateTime, moment, "创建时间"),
        ],
    ),
    Tab(
        "legacy_import",
        "历史导入",
        [
            pk(),
            P("col_a", S(18), resident_id, "", "id_card", "identity_document"),  # values only
            P("col_b", S(19), bank_card, "", category="financial"),
            P("col_c", S(10), plate, "", category="vehicle"),
            P("col_d", S(45), ipv6, "", category="online_identity"),
            P("col_e", sa.BigInteger, lambda r, i: int(cn_mobile(r, 1)), "", identity="phone"),
            N("batch_no", sa.Integer, number(1, 99), "批次"),
            N("big_no", sa.BigInteger, lambda r, i: r.randrange(10**17, 10**18), "流水号"),
            N("imported_at", sa.DateTime, moment, "导入时间"),
        ],
    ),
    Tab(
        "app_config",
        "配置",
        [
            N("id", sa.Integer, row_id),
            N("config_key", S(32), lambda r, i: f"feature.{i}", "配置项"),
            N("config_value", S(64), pick("on", "off", "30"), "配置值"),
            N("version", S(16), pick("1.2.3", "10.0.4"), "版本"),
            N("updated_at", sa.DateTime, moment, "更新时间"),
        ],
    ),
    Tab(
        "inventory_snapshots",
        "库存快照",
        [
            N("id", sa.Integer, row_id),
            N("product_id", sa.Integer, ref(ROWS), "商品"),
            N("warehouse_id", sa.Integer, ref(ROWS), "仓库"),
            N("qty", sa.Integer, number(0, 10**4), "数量"),
            N("snapshot_date", sa.Date, date, "快照日期"),
            N("checksum", S(32), hexdigest, "校验和"),
            N("unix_ts", sa.BigInteger, lambda r, i: r.randrange(16 * 10**8, 18 * 10**8), "时间戳"),
            N(
                "ms_ts",
                sa.BigInteger,
                lambda r, i: r.randrange(16 * 10**11, 18 * 10**11),
                "毫秒时间戳",
            ),
        ],
    ),
    Tab(
        "search_history",
        "搜索历史",
        [
            pk(),
            P("user_id", sa.Integer, ref(ROWS), identity="account_id", category="online_identity"),
            P("search_keyword", S(64), pick("手机", "耳机"), "搜索词", category="online_activity"),
            N("result_count", sa.Integer, number(0, 500), "结果数"),
        ],
    ),
    Tab(
        "employees",
        "员工",
        [
            P("id", sa.Integer, row_id, identity="account_id", category="online_identity"),
            P("emp_name", S(32), person_name, "员工姓名", category="basic_profile"),
            P("lxdh", S(20), landline, "联系电话", identity="phone"),
            P("csrq", sa.Date, date, "出生日期", category="basic_profile"),
            P("zy", S(32), pick("工程师", "销售"), "职业", category="education_work"),
            N("job_level", sa.SmallInteger, number(1, 10), "职级"),
        ],
    ),
    Tab(
        "audit_jobs",
        "任务",
        [
            N("id", sa.Integer, row_id),
            N("job_name", S(32), pick("nightly", "weekly"), "任务名"),
            N("server_name", S(32), pick("app-1", "app-2"), "服务器"),
            N("duration_ms", sa.Integer, number(1, 10**6), "耗时"),
            N("finished_at", sa.DateTime, moment, "完成时间"),
        ],
    ),
]

PERSONAL = {
    (t.name, c.name): (c.identity, c.category)
    for t in TABLES
    for c in t.columns
    if c.identity is not None
}
NOT_PERSONAL = {(t.name, c.name) for t in TABLES for c in t.columns if c.identity is None}
INFERRED = {
    ("user_addresses", "user_id", "users", "id"),
    ("points_log", "member_id", "t_member", "member_id"),
    ("orders", "user_id", "users", "id"),
    ("order_items", "order_id", "orders", "id"),
    ("order_items", "product_id", "products", "id"),
    ("products", "category_id", "categories", "id"),
    ("payments", "order_id", "orders", "id"),
    ("login_log", "uid", "users", "id"),
    ("devices", "user_id", "users", "id"),
    ("trips", "user_id", "users", "id"),
    ("locations", "user_id", "users", "id"),
    ("vehicles", "driver_id", "drivers", "id"),
    ("invoices", "customer_id", "customers", "id"),
    ("support_tickets", "user_id", "users", "id"),
    ("inventory_snapshots", "product_id", "products", "id"),
    ("inventory_snapshots", "warehouse_id", "warehouses", "id"),
    ("search_history", "user_id", "users", "id"),
}


def metadata() -> sa.MetaData:
    meta = sa.MetaData()
    for tab in TABLES:
        sa.Table(
            tab.name,
            meta,
            *(
                sa.Column(
                    c.name,
                    c.type,
                    comment=c.comment or None,
                    primary_key=c.key or c.make is row_id,
                    autoincrement=False,
                )
                for c in tab.columns
            ),
            comment=tab.comment,
        )
    return meta


def seeded_rows() -> dict[str, list[dict]]:
    """The rows of every table, the same on every run and every database."""
    r = random.Random(17)
    return {
        tab.name: [{c.name: c.make(r, i) for c in tab.columns} for i in range(ROWS)]
        for tab in TABLES
    }


def personal_values(rows) -> set[str]:
    """Every seeded personal value long enough to hunt for in a draft or a log."""
    return {
        str(row[column])
        for table, column in PERSONAL
        for row in rows[table]
        if len(str(row[column])) >= 6
    }


# --- databases -------------------------------------------------------------------------------

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/{}",
    "mariadb": "mysql+pymysql://root:@127.0.0.1:3306/{}?charset=utf8mb4",
}


@dataclass
class Downstream:
    engine: sa.Engine
    rows: dict


def create_database(server: str, name: str) -> sa.Engine:
    admin = sa.create_engine(
        SERVERS[server].format("postgres" if server == "postgresql" else ""),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote(server, name)}"))
        charset = "" if server == "postgresql" else " CHARACTER SET utf8mb4"
        conn.execute(sa.text(f"CREATE DATABASE {quote(server, name)}{charset}"))
    admin.dispose()
    return sa.create_engine(SERVERS[server].format(name))


def drop_database(server: str, name: str) -> None:
    admin = sa.create_engine(
        SERVERS[server].format("postgres" if server == "postgresql" else ""),
        isolation_level="AUTOCOMMIT",
    )
    force = " WITH (FORCE)" if server == "postgresql" else ""
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote(server, name)}{force}"))
    admin.dispose()


def quote(server: str, name: str) -> str:
    return f'"{name}"' if server == "postgresql" else f"`{name}`"


@pytest.fixture(scope="session", params=["postgresql", "mariadb"])
def downstream(request):
    """The shop on one server, seeded once for the whole session; dropped afterwards."""
    server = request.param
    name = f"dsar_disc_{os.getpid()}"
    engine = create_database(server, name)
    meta = metadata()
    meta.create_all(engine)
    rows = seeded_rows()
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            conn.execute(table.insert(), rows[table.name])
        if server == "postgresql":
            conn.execute(sa.text("ANALYZE"))
    yield Downstream(engine, rows)
    engine.dispose()
    drop_database(server, name)
