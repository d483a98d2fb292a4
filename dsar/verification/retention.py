"""Record retention for verification: evidence and codes go, the method and strength stay."""


def anonymise(request, *, now) -> None:
    request.evidence.all().delete()
    request.challenges.all().delete()
    request.verifications.update(identity_hash="")
