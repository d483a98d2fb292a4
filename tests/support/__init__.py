"""What the test packages share: real processes and peers, the second database, signing.

Fixtures are exposed to every test by ``tests/conftest.py``; the plain helpers are imported
from here, so no test package imports another one's conftest or test module.
"""
