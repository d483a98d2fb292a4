from tests.datamap.shop import server_dsn, shop  # noqa: F401 (the shop's fixtures)
