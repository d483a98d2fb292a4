"""The Redis cache backend: Django's, keeping one client per connection pool.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` for every cache call, and with it
a table of some 130 response callbacks. Rate limits make several cache calls per intake, so
that construction was a measurable share of it. The pool, and so every connection, was
already shared; now the client object is too (``redis.Redis`` is safe across threads).
"""

from django.core.cache.backends import redis as django_redis


class _Client(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client
