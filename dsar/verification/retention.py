"""Record retention for verification: evidence and codes go, the method and strength stay."""

from django.db import transaction

from dsar.verification import storage


def anonymise(request, *, now) -> None:
    names = list(request.evidence.exclude(file="").values_list("file", flat=True))
    request.evidence.all().delete()
    if names:  # normally none: evidence is deleted when the request stops waiting
        transaction.on_commit(lambda: storage.delete(names))
    request.challenges.all().delete()
    request.verifications.update(identity_hash="")
