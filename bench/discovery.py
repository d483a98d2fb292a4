"""Discovery benchmark (issue 17): a generated 200-table schema, no foreign keys.

Each table mixes personal columns (spelled in English, camelCase, pinyin with a Chinese
comment, or cryptically with only their values to tell) and non-personal ones chosen to look
tempting (order numbers, amounts, SKU and EAN codes, timestamps, a warehouse's address, a
phone model). The generator knows which is which; discovery does not. Printed: precision and
recall of the proposed columns against that truth (targets ≥ 0.9 and ≥ 0.95), how many true
proposals got the right category, discovery's time (target < 10 s) and its ratio to the bare
inspector pass (``inspect_schema``) measured in the same run.

    make bench
    BENCH_DISCOVERY_TABLES=500 BENCH_DISCOVERY_SERVER=mariadb .venv/bin/python bench/discovery.py
"""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
TABLES = int(os.environ.get("BENCH_DISCOVERY_TABLES", "200"))
ROWS = int(os.environ.get("BENCH_DISCOVERY_ROWS", "100"))
SERVER = os.environ.get("BENCH_DISCOVERY_SERVER", "postgresql")  # or mariadb

import sqlalchemy as sa  # noqa: E402

from dsar.datamap.discovery import discover, inspect_schema  # noqa: E402
from tests.datamap import conftest as values  # noqa: E402 (the test suite's value makers)

S = sa.String
# (names, comments, type, value maker, personal category or None); "" in names means a
# cryptic column (f_<n>) whose values alone tell; "" in comments means no comment.
PERSONAL = [
    (
        ["mobile", "phone", "contactPhone", "sjhm", ""],
        ["手机号", "联系电话", ""],
        S(20),
        values.cn_mobile,
        "contact",
    ),
    (["email", "userEmail", "mail", ""], ["邮箱", "电子邮件", ""], S(64), values.email, "contact"),
    (
        ["id_card", "idcardNo", "sfzh", ""],
        ["身份证号", "证件号码", ""],
        S(18),
        values.resident_id,
        "identity_document",
    ),
    (
        ["bank_card", "cardNo", "yhkh", ""],
        ["银行卡号", "卡号", ""],
        S(19),
        values.bank_card,
        "financial",
    ),
    (
        ["login_ip", "clientIp", "ip", ""],
        ["登录IP", "IP地址", ""],
        S(45),
        values.ipv4,
        "online_identity",
    ),
    (["ipv6", ""], ["IPv6地址", ""], S(45), values.ipv6, "online_identity"),
    (["geo", "location", ""], ["经纬度", "坐标", ""], S(40), values.coordinates, "location"),
    (["lat", "latitude"], ["纬度", ""], sa.Float, lambda r, i: r.uniform(18, 53), "location"),
    (["imei", "deviceNo", ""], ["设备号", "IMEI", ""], S(15), values.imei, "device"),
    (["plate_no", "carPlate", "cph", ""], ["车牌号", ""], S(10), values.plate, "vehicle"),
    (
        ["real_name", "fullName", "xm", "contact_name"],
        ["姓名", "联系人", ""],
        S(32),
        values.person_name,
        "basic_profile",
    ),
    (["address", "addr", "dz"], ["地址", "收货地址", ""], S(128), values.address, "contact"),
    (
        ["birthday", "birth_date", "csrq"],
        ["出生日期", "生日"],
        sa.Date,
        values.date,
        "basic_profile",
    ),
    (["gender", "sex", "xb"], ["性别"], sa.SmallInteger, values.number(0, 3), "basic_profile"),
    (
        ["openid", "wx_openid"],
        ["微信openid", ""],
        S(40),
        lambda r, i: f"oAbc{r.getrandbits(96):024x}",
        "online_identity",
    ),
    (["nickname", "nickName", "nc"], ["昵称", ""], S(32), lambda r, i: f"小{i}", "online_identity"),
    (["user_id", "uid"], ["用户ID", ""], sa.Integer, values.ref(ROWS), "online_identity"),
]
NOT_PERSONAL = [
    (
        ["total_amount", "price", "fee", "je"],
        ["金额", "订单金额", ""],
        sa.Numeric(12, 2),
        values.money,
    ),
    (["quantity", "qty", "sl"], ["数量", ""], sa.Integer, values.number(1, 100)),
    (["status", "state", "zt"], ["状态", ""], S(16), values.pick("PAID", "NEW", "DONE")),
    (["status_code", "biz_type"], ["状态码", "业务类型"], sa.SmallInteger, values.number(0, 9)),
    (
        ["created_at", "updateTime", "cjsj"],
        ["创建时间", "更新时间", ""],
        sa.DateTime,
        values.moment,
    ),
    (
        ["sku_code", "spbm"],
        ["SKU编码", "商品编码"],
        S(16),
        lambda r, i: f"SKU-{r.randrange(10**6):06d}",
    ),
    (["barcode", "ean"], ["条形码", ""], S(13), values.ean13),
    (["order_no", "serialNo", "ddh"], ["订单号", "流水号", ""], S(32), values.digits(19)),
    (
        ["tracking_no", "kddh"],
        ["快递单号", ""],
        S(20),
        lambda r, i: f"SF{r.randrange(10**12):012d}",
    ),
    (
        ["event_ts", "ts"],
        ["时间戳", ""],
        sa.BigInteger,
        lambda r, i: r.randrange(16 * 10**8, 18 * 10**8),
    ),
    (["version", "appVersion"], ["版本", ""], S(16), values.pick("1.2.3", "10.4.1")),
    (["checksum", "md5"], ["校验和", ""], S(32), values.hexdigest),
    (
        ["product_name", "goodsName", "spmc"],
        ["商品名称", ""],
        S(64),
        values.pick("小米手机 14", "华为 Mate 60", "充电器"),
    ),
    (["remark", "bz"], ["备注", ""], S(64), values.text),
    (["warehouse_address", "storeAddr"], ["仓库地址", "门店地址"], S(128), values.address),
    (["phone_model"], ["手机型号"], S(32), values.pick("Mate 60", "iPhone 15")),
    (
        ["email_verified", "isMobileBound"],
        ["邮箱是否验证", "是否绑定手机"],
        sa.Boolean,
        values.pick(True, False),
    ),
    (["login_count", "retry_cnt"], ["登录次数", "重试次数"], sa.Integer, values.number(0, 99)),
    (["score", "rate"], ["评分", "费率"], sa.Numeric(12, 3), values.money),
]
PEOPLE = ["users", "t_customer", "drivers", "members", "patients"]
DOMAINS = ["order", "trade", "crm", "logistics", "risk", "coupon", "im", "ride", "hr", "cms"]
NOUNS = ["record", "detail", "log", "snapshot", "task", "event", "item", "stat", "apply", "flow"]


def generate(r: random.Random):
    """The schema (SQLAlchemy MetaData), its rows, and the truth: the category of each
    personal column."""
    meta, rows, personal = sa.MetaData(), {}, {}
    names = PEOPLE + [f"{r.choice(DOMAINS)}_{r.choice(NOUNS)}_{n}" for n in range(TABLES)]
    for name in names[:TABLES]:
        columns = [sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)]
        makers = {"id": lambda r, i: i + 1}
        if name in PEOPLE:
            personal[(name, "id")] = "online_identity"
        picks = r.sample(PERSONAL, r.randrange(1, 6)) + r.sample(NOT_PERSONAL, r.randrange(2, 8))
        for n, (spellings, comments, type_, make, *category) in enumerate(picks):
            spelled = r.choice(spellings) or f"f_{n}"
            comment = "" if spelled.startswith("f_") else r.choice(comments)
            if spelled in makers:
                continue
            columns.append(sa.Column(spelled, type_, comment=comment or None))
            makers[spelled] = make
            if category:
                personal[(name, spelled)] = category[0]
        if r.random() < 0.3:  # a reference to an earlier table, personal if it holds people
            target = r.choice(names[: max(1, names.index(name))])
            column = f"{target.removeprefix('t_').removesuffix('s')}_id"
            if target != name and column not in makers:
                columns.append(sa.Column(column, sa.Integer, comment="关联ID"))
                makers[column] = values.ref(ROWS)
                if target in PEOPLE:
                    personal[(name, column)] = "online_identity"
        sa.Table(name, meta, *columns, comment=f"{name} 表")
        rows[name] = [{c: make(r, i) for c, make in makers.items()} for i in range(ROWS)]
    return meta, rows, personal


def build(engine: sa.Engine, meta: sa.MetaData, rows: dict) -> None:
    meta.create_all(engine)
    with engine.begin() as connection:
        for table in meta.sorted_tables:
            connection.execute(table.insert(), rows[table.name])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))


def timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main():
    name = f"dsar_bench_discovery_{os.getpid()}"
    meta, rows, personal = generate(random.Random(17))
    engine = values.create_database(SERVER, name)
    try:
        build(engine, meta, rows)
        columns = sum(len(table.columns) for table in meta.tables.values())
        timed(lambda: inspect_schema(engine))  # warm up: imports, the connection pool
        inspect_s, _ = timed(lambda: inspect_schema(engine))
        discover_s, draft = timed(lambda: discover(engine))
    finally:
        engine.dispose()
        values.drop_database(SERVER, name)
    proposed = {(p.table, p.column): p for p in draft.proposals}
    right = set(personal) & set(proposed)
    same = sum(1 for key in right if proposed[key].category == personal[key])
    precision, recall = len(right) / len(proposed), len(right) / len(personal)
    print(f"{SERVER}: {len(meta.tables)} tables, {columns} columns, {len(personal)} personal")
    print(f"proposed {len(proposed)}, of them personal {len(right)}, {same} with its category")
    print(f"precision {precision:.3f} (target ≥ 0.9), recall {recall:.3f} (target ≥ 0.95)")
    missed = sorted(set(personal) - set(proposed))
    wrong = sorted(set(proposed) - set(personal))
    print(f"missed: {missed[:8]}{' …' if len(missed) > 8 else ''}")
    print(f"wrongly proposed: {wrong[:8]}{' …' if len(wrong) > 8 else ''}")
    print(f"inspector pass {inspect_s:.3f} s, discovery {discover_s:.3f} s (target < 10 s)")
    print(f"ratio discovery / inspector pass: {discover_s / inspect_s:.2f}")


if __name__ == "__main__":
    main()
