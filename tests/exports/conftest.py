from tests.fanout.conftest import downstream, shop_dsn  # noqa: F401 (fixtures)
