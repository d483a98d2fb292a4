import re
import threading

import pytest
from django.db import connection
from django.utils import translation

from dsar.audit.models import AuditEvent
from dsar.workflow.identity import InvalidIdentity, email_hash, phone_hash
from dsar.workflow.models import RequestType, RightsRequest
from dsar.workflow.services import create_request


@pytest.mark.django_db
def test_reference_has_the_year_and_a_six_digit_sequence():
    first = create_request(type=RequestType.ACCESS, email="a@example.com")
    second = create_request(type=RequestType.ACCESS, email="b@example.com")
    assert re.fullmatch(r"DSAR-\d{4}-\d{6}", first.reference)
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1


@pytest.mark.django_db
def test_reference_sequence_restarts_each_local_year(time_machine):
    # 2026-12-31 23:30 in Shanghai is still 2026 locally, 15:30 UTC.
    time_machine.move_to("2026-12-31T15:30:00Z", tick=False)
    last_of_2026 = create_request(type=RequestType.ACCESS, email="a@example.com")
    time_machine.move_to("2026-12-31T16:30:00Z", tick=False)  # 00:30 on 1 January locally
    first_of_2027 = create_request(type=RequestType.ACCESS, email="b@example.com")
    assert last_of_2026.reference.startswith("DSAR-2026-")
    assert first_of_2027.reference == "DSAR-2027-000001"


@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_under_concurrent_creation():
    barrier = threading.Barrier(8)
    references, errors = [], []

    def create_five(n):
        try:
            barrier.wait(timeout=10)
            for i in range(5):
                request = create_request(type=RequestType.DELETION, email=f"s{n}.{i}@example.com")
                references.append(request.reference)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_five, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(references) == len(set(references)) == 40
    numbers = sorted(int(ref[-6:]) for ref in references)
    assert numbers == list(range(numbers[0], numbers[0] + 40))


@pytest.mark.django_db
def test_identity_is_encrypted_at_rest():
    request = create_request(
        type=RequestType.ACCESS,
        email="li.lei@example.com",
        phone="13800138000",
        full_name="李雷",
        account_id="acct-42",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, phone, full_name, account_id FROM workflow_rightsrequest WHERE id = %s",
            [request.pk],
        )
        raw = cursor.fetchone()
    plains = ["li.lei@example.com", "+8613800138000", "李雷", "acct-42"]
    for stored, plain in zip(raw, plains, strict=True):
        assert plain not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
    fresh = RightsRequest.objects.get(pk=request.pk)
    assert (fresh.email, fresh.phone, fresh.full_name) == (
        "li.lei@example.com",
        "+8613800138000",
        "李雷",
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "Li.Lei@Example.com",
        " li.lei@example.com ",
        "ｌｉ．ｌｅｉ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "LI.LEI@EXAMPLE.COM",
    ],
)
@pytest.mark.django_db
def test_email_spellings_share_one_keyed_hash(spelling):
    assert email_hash(spelling) == email_hash("li.lei@example.com")


@pytest.mark.parametrize("spelling", ["13800138000", "+86 138 0013 8000", "１３８００１３８０００"])
@pytest.mark.django_db
def test_phone_spellings_share_one_keyed_hash(spelling):
    assert phone_hash(spelling) == phone_hash("+8613800138000")


@pytest.mark.django_db
def test_the_hash_is_keyed_not_a_plain_digest(settings):
    before = email_hash("li.lei@example.com")
    settings.DSAR_HASH_KEY = "another-key"
    assert email_hash("li.lei@example.com") != before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "valid email"),
        ({"email": "li.lei @example.com"}, "valid email"),  # nothing is trimmed into an address
        ({"phone": "12345"}, "valid phone"),
        ({}, "email address or a phone"),
    ],
)
@pytest.mark.django_db
def test_invalid_identity_writes_nothing(fields, message):
    with translation.override("en"), pytest.raises(InvalidIdentity, match=message):
        create_request(type=RequestType.ACCESS, **fields)
    assert RightsRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_intake_is_audited_without_personal_data():
    request = create_request(type=RequestType.ACCESS, email="li.lei@example.com")
    event = AuditEvent.objects.get(request_id=request.pk)
    assert event.action == "request.created"
    assert "li.lei" not in str(event.payload)
