"""Encryption at rest and keyed hashing of personal data.

The cryptography itself comes from the ``cryptography`` package (Fernet: AES-128-CBC with
HMAC-SHA256, MultiFernet for key rotation); this package only wires it to settings and models.
"""
