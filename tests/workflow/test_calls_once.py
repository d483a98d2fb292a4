"""calls.once: a value worked out once per HTTP request, forgotten when its answer is out;
the address normalisation that uses it answers as before."""

import pytest
from django.core.signals import request_finished, request_started

from dsar import calls
from dsar.workflow import identity


def test_once_per_request_and_every_time_outside_one():
    worked = []

    def work():
        worked.append(1)
        return len(worked)

    assert calls.once("k", work) == 1 and calls.once("k", work) == 2  # outside a request
    request_started.send(sender=None)
    try:
        assert calls.once("k", work) == 3
        assert calls.once("k", work) == 3
        assert calls.once("other", work) == 4
    finally:
        request_finished.send(sender=None)
    request_started.send(sender=None)
    try:
        assert calls.once("k", work) == 5  # forgotten with the last answer
    finally:
        request_finished.send(sender=None)


def test_a_refusal_is_not_remembered():
    attempts = []

    def refuse():
        attempts.append(1)
        raise identity.InvalidIdentity("no")

    request_started.send(sender=None)
    try:
        for _ in range(2):
            with pytest.raises(identity.InvalidIdentity):
                calls.once("bad", refuse)
    finally:
        request_finished.send(sender=None)
    assert len(attempts) == 2


def test_normalised_addresses_in_a_request_are_those_outside_one(settings):
    values = [" Wang@Example.com ", "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"]
    values += ["13800138000", "+86 138 0013 8000"]
    outside = [identity.normalise_email(v) for v in values[:2]]
    phones = [identity.normalise_phone(v) for v in values[2:]]
    request_started.send(sender=None)
    try:
        assert [identity.normalise_email(v) for v in values[:2]] * 2 == outside * 2
        assert [identity.normalise_phone(v) for v in values[2:]] == phones
        with pytest.raises(identity.InvalidIdentity):
            identity.normalise_email("a@b@c")
        settings.DSAR_PHONE_REGION = "US"  # the region is part of what is remembered
        with pytest.raises(identity.InvalidIdentity):
            identity.normalise_phone("13800138000")
    finally:
        request_finished.send(sender=None)
